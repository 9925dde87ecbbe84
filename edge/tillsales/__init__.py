"""Selling at the till with or without internet (DESIGN §5, store and forward): the sale, its print, its upload."""
