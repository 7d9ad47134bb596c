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
