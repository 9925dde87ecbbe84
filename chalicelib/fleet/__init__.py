"""The fleet view: each shop's edge (heartbeat, devices, warnings, backlog) and the merchant's notifications
when a device warns or an edge falls silent."""
