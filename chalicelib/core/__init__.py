"""Shared helpers every capability uses: errors, HTTP, validation, settings, clock, lazy loading, logs, money."""
