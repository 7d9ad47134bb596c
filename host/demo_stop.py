"""`empathy demo` (its rehearsal, its kiosk) ended early: Ctrl-C, SIGTERM or SIGHUP.

The first signal ends the show at once and the demo goes on to write its report for what
ran, saying that it ended early, when and why; the command then exits 0: the user asked
for it to stop and got what it ran. A second signal (or the first while the story loads,
when nothing has run) aborts at once: one line, exit 128 + the signal (130 for Ctrl-C).
While the seat units and the show start, even a second signal waits for the start-up to
end (a second or two), so the unwinding always finds every process it has to stop.
"""

from __future__ import annotations

import html
import logging
import signal
from pathlib import Path
from typing import Callable, Optional

log = logging.getLogger("empathy.host.demo")

SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}
# what the run was doing, for the report and the one line an abort leaves
DOING = {"loading": "before anything started", "start-up": "while the seat units started",
         "baseline": "during the resting baseline", "film": "during the film",
         "kiosk": "while the kiosk ran", "report": "while writing the report"}


class Aborted(KeyboardInterrupt):
    """Out at once, no report: `empathy.cli.main` prints `line` and exits with `code`."""

    def __init__(self, why: str, signum: int, doing: str, where: str):
        super().__init__(why)
        self.code = 128 + signum
        self.line = f"interrupted ({why}) {doing}: no report" + (f" ({where})" if where else "")


class EndEarly:
    """A context: the demo's signal handlers while it runs (the old ones back after it).
    `phase(name)` says where the run is; `on_stop(fn)` gives what ends the show (called
    at once if a signal came first); `record(film_s)` is the summary's `ended_early`."""

    def __init__(self, where: str = ""):
        self.where = where  # said by an abort: what the run has left (its folder)
        self.why: Optional[str] = None  # the first signal, as a person names it
        self.during: Optional[str] = None  # the phase it came in
        self._phase = "loading"
        self._abort: Optional[tuple[str, int]] = None
        self._stop: Optional[Callable[[], None]] = None
        self._old: dict = {}

    def __enter__(self) -> EndEarly:
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:  # `nohup`: it outlives its terminal
                self._old[sig] = signal.signal(sig, self._on)
        return self

    def __exit__(self, *_) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _on(self, signum: int, _frame) -> None:
        why = SIGNALS[signal.Signals(signum)]
        if self.why is None and self._phase != "loading":
            self.why, self.during = why, self._phase
            log.info("%s: ending the demo %s; its report follows (%s again to abort)",
                     why, DOING[self._phase], why)
            if self._stop is not None:
                self._stop()
            return
        self._abort = self._abort or (why, signum)
        if self._phase != "start-up":
            self._raise()

    def _raise(self) -> None:
        for sig in self._old:  # one line, however often the key is pressed meanwhile
            signal.signal(sig, signal.SIG_IGN)
        why, signum = self._abort
        raise Aborted(why, signum, DOING[self._phase],
                      "" if self._phase == "loading" else self.where)

    def phase(self, name: str) -> None:
        self._phase = name
        if self._abort is not None:  # a second signal came while the units started
            self._raise()

    def on_stop(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        if self.why is not None and self.during != "report":
            stop()

    def record(self, film_s: float) -> Optional[dict]:
        """{by, during, at_s: seconds of film shown}, or None: the run was not cut short."""
        if self.why is None or self.during == "report":
            return None
        return {"by": self.why, "during": self.during, "at_s": round(film_s, 2)}


def ended_text(ended: dict, planned: str) -> str:
    """How the run ended early: by what, and how far in. `planned`: what the run was to
    be ("120 s of film")."""
    if ended["at_s"] > 0:
        return f"ended early by {ended['by']}, {ended['at_s']:.1f} s into {planned}"
    return f"ended early by {ended['by']} {DOING[ended['during']]}: nothing played"


def said(ended: dict, out: Path, planned: str) -> str:
    """The one line an early end leaves on stderr, with where its report is."""
    return f"empathy demo: {ended_text(ended, planned)}; report: {out / 'report.html'}"


def banner(ended: Optional[dict], planned: str) -> str:
    """The report's first words on a run cut short (none on a whole one)."""
    if not ended:
        return ""
    text = ended_text(ended, planned)
    return f"<p><b>{html.escape(text[0].upper() + text[1:])}. This report is of what ran.</b></p>"
