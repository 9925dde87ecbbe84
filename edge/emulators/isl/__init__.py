"""A byte-level twin of an ISL fiscal printer (Datecs, Daisy), on a pseudo-terminal or TCP."""
