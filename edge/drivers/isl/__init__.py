"""The ISL protocol family (Datecs, Daisy): framing, link, commands, the driver and one dialect per vendor."""
