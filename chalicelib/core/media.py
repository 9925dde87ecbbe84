"""Media types the HTTP API speaks beyond JSON (dependency-free: read when routes are declared)."""

FORM = "application/x-www-form-urlencoded"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY_TYPES = (PDF, XLSX)
