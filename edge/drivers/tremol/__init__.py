"""The Tremol ZFP protocol family: framing, status, link, commands and the driver."""
