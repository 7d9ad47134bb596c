"""The edge unit's runtime: readings -> per-seat features -> wire packets -> uplink."""
