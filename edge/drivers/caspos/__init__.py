"""Caspos Mobile (seed 002): the JSON API over HTTP, its client and the fiscal driver."""
