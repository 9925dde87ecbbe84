"""The daily sales report in each download format: one module per format over ``base.SalesFormat``."""
