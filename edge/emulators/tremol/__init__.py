"""A byte-level twin of the Tremol ZFP fiscal devices, written from the Tremol document."""
