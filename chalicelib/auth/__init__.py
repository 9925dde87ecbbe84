"""Merchants, their API keys, and the JWTs they authenticate with."""
