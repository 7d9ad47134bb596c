"""Rig profiles for `empathy calibrate hr` (TOML; a package so installs ship them)."""
