"""Signed webhook sending, one delivery record per event with retries and dead letters, and the SSRF guard."""
