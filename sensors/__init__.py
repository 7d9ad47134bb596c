"""Sensor drivers: every source yields timestamped readings through one protocol (base.py)."""
