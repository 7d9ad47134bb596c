"""`empathy story arc` on long and odd screenplays: what the table shows, and lines whose
cost grew with their length squared. Not timed: the long lines below took the old patterns
minutes (a cue line of 8,000 spaces took 1.3 s, 16,000 took 4x that), past the suite's
300-s timeout; the speed figures are in bench/bench_arc.py."""

import io

from rich.console import Console

from empathy.host.arc import scene_arc, screenplay_scenes
from empathy.host.story_cli import arc_table


def test_headings_and_title_are_shown_as_written_not_read_as_markup():
    text = "INT. CAFE [FLASHBACK] - DAY\n\nShe runs.\n\nINT. LAB [/b] - NIGHT :fire:\n\nCalm.\n"
    out = io.StringIO()
    Console(file=out, width=200).print(arc_table(scene_arc(screenplay_scenes(text)), "[b]T[/i]"))
    shown = out.getvalue()
    assert "INT. CAFE [FLASHBACK] - DAY" in shown and "INT. LAB [/b] - NIGHT :fire:" in shown
    assert "[b]T[/i]: intended arc" in shown


def test_long_runs_of_spaces_in_a_heading_and_a_cue_cost_their_length():
    spaces = " " * 400_000
    text = (f"INT. ROOM{spaces}x #1#\n\nShe waits.\n\nMIRA{spaces}x\nHello.\n\n"
            f"EXT. YARD #2#\n\nKAI   (V.O.)  \nRun!\n")
    room, yard = screenplay_scenes(text)
    assert room.heading == f"INT. ROOM{spaces}x" and yard.heading == "EXT. YARD"
    assert f"MIRA{spaces}x" in room.text  # not a cue: a lower-case letter
    assert "KAI" not in yard.text and yard.text == "Run!"  # a cue, spaces and all


def test_a_long_arc_is_drawn_at_a_readable_width_with_every_kth_scene_labelled(tmp_path):
    """1.1 in a scene made 2,000 scenes a 170,592-pixel-wide PNG (8,000: over 10 minutes
    and 1.5 GB); up to MAX_LABELLED scenes the plot is as it was."""
    import matplotlib.image

    from empathy.host.arc import MAX_LABELLED, ArcPoint, arc_plot

    arc = [ArcPoint(i + 1, f"INT. ROOM {i + 1}", 0.1, 0.5) for i in range(2000)]
    png = arc_plot(arc, tmp_path / "arc.png", "Long")
    assert matplotlib.image.imread(png).shape[1] < MAX_LABELLED * 1.1 * 100 * 1.1
