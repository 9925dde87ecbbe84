"""eReceipts (fiskaly eReceipt parity): the API store, the EKaBS schema, public access, the page and the PDF."""
