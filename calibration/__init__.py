"""Rig validation and per-viewer calibration (see the calibration issue)."""
