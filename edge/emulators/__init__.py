"""Device emulators: stand-ins for real fiscal devices, each with its own persistent state."""
