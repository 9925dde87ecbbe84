"""Receipt Bridge edge poller: takes fiscal jobs from a shop's queue and prints each exactly once."""
