"""Playback: decode segments, grade through OpenColorIO, output gaplessly via GStreamer."""

# matplotlib's FreeType module aborts the process ("Fatal Python error: Aborted") if it is
# first imported after a GStreamer show has run in the same process (seen with matplotlib
# 3.11 + GStreamer 1.22). Every report that plots after playing (demo, calibration) would
# hit it, so load it before any pipeline exists.
try:
    import matplotlib.ft2font  # noqa: F401
except ImportError:  # plotting is optional for playback itself
    pass
