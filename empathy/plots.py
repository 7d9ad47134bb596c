"""matplotlib as every report and plot here uses it: no display (Agg), and text drawn as
written. Titles, labels and ticks carry names from files and people (a story's title, a
scene heading, a recording's or a LUT's name); matplotlib reads a "$" pair in them as TeX
("$\\x$" raised, "From $5 to $10" lost its dollars), and no plot of ours writes mathtext."""

import sys


_plotless = {"said": False, "skipped": False}


def never_plots() -> None:
    """This process draws nothing (a show, a story read or drafted, an output probe): its
    GStreamer starts without FreeType first, ~0.15 CPU-s less a start (the tests start
    hundreds)."""
    _plotless["said"] = True


def pyplot():
    """matplotlib.pyplot, on Agg, with mathtext off for every text made after."""
    if _plotless["skipped"] and "matplotlib.ft2font" not in sys.modules:  # not the abort
        raise RuntimeError("a plot in a process that said it never plots (never_plots) "
                           "after GStreamer started")
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
    if _plotless["said"] and "matplotlib.ft2font" not in sys.modules:
        _plotless["skipped"] = True
        return
    try:
        import matplotlib.ft2font  # noqa: F401
    except ImportError:  # plotting is optional for playback itself
        pass
