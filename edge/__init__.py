"""Receipt Bridge edge poller: takes fiscal jobs from a shop's queue and prints each exactly once."""

__version__ = "1.0.0"
