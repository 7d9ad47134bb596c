"""matplotlib as every report and plot here uses it: no display (Agg), and text drawn as
written. Titles, labels and ticks carry names from files and people (a story's title, a
scene heading, a recording's or a LUT's name); matplotlib reads a "$" pair in them as TeX
("$\\x$" raised, "From $5 to $10" lost its dollars), and no plot of ours writes mathtext."""


def pyplot():
    """matplotlib.pyplot, on Agg, with mathtext off for every text made after."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def before_gstreamer() -> None:
    """matplotlib's FreeType module aborts the process ("Fatal Python error: Aborted") if it
    is first imported after a GStreamer show has run in the same process (matplotlib 3.11 +
    GStreamer 1.22): every report that plots after playing (demo, calibration) would hit it.
    Called before GStreamer starts, not on importing the player: `lut check`, `config check`
    and the like paid ~0.2-0.3 CPU-s (half their start-up) for it without playing anything."""
    try:
        import matplotlib.ft2font  # noqa: F401
    except ImportError:  # plotting is optional for playback itself
        pass
