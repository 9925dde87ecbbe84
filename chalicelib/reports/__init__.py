"""The daily sales report (pure) and the downloads: sales and catalogue exports in every format."""
