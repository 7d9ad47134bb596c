"""Benchmarks: one script per benchmark, each runs a peer side by side and reports ratios."""
