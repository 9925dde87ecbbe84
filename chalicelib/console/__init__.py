"""The merchant console: server-rendered pages at /console behind the merchant's own login (DESIGN §4.4)."""
