"""The fiscal day: the scheduled Z report, the Z a device made by itself, and the warnings the edge derives
(a Z due before the 24 h limit, a drifting device clock, an unreachable device)."""
