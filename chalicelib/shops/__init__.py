"""Shops and their catalogue (items, departments, clients, payment and delivery methods, users)."""
