"""Calibration results: pass/fail checks against limits, one HTML page and one JSON file.

Every calibration ends in a `Result`: the figures it measured, the checks those figures
faced (each with its limit and, when it fails, a reason a tester can act on) and the plots
a person reviews. `write` puts `NAME.html` (plots inline) and `NAME.json` next to each other.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from empathy.atomic import write_text


@dataclass(frozen=True)
class Check:
    """One figure against one limit: kind "max", it must not exceed it; "min", not fall below."""

    name: str
    value: float
    limit: float
    unit: str = ""
    kind: str = "max"
    hint: str = ""  # what to do about it when it fails

    @property
    def ok(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value <= self.limit if self.kind == "max" else self.value >= self.limit

    @property
    def reason(self) -> str:
        word = "above" if self.kind == "max" else "below"
        text = f"{self.name} {self.value:.4g}{' ' + self.unit if self.unit else ''} is {word} " \
               f"the limit {self.limit:.4g}"
        return f"{text} ({self.hint})" if self.hint else text


@dataclass
class Result:
    kind: str  # "hr", "pupil-scale", "light", ...
    title: str
    figures: dict = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failures that are not a figure vs a limit
    plot: Optional[Callable[[], dict]] = None  # -> {caption: figure}, drawn only when written
    tables: dict = field(default_factory=dict)  # caption -> list of row dicts (same keys)
    notes: list[str] = field(default_factory=list)
    verdict: bool = True  # a PASS/FAIL banner; a recording's report has no limits to pass

    @property
    def passed(self) -> bool:
        return not self.errors and all(c.ok for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return self.errors + [c.reason for c in self.checks if not c.ok]

    def summary(self) -> dict:
        return {
            "kind": self.kind,
            "title": self.title,
            "passed": self.passed,
            "reasons": self.reasons,
            "figures": {k: _plain(v) for k, v in self.figures.items()},
            "checks": [{"name": c.name, "value": _plain(c.value), "limit": c.limit,
                        "unit": c.unit, "kind": c.kind, "ok": bool(c.ok)} for c in self.checks],
            "tables": {k: _plain(v) for k, v in self.tables.items()},
            "notes": self.notes,
            "written_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }


def _plain(v):
    """Plain JSON types; JSON has no NaN, so unknown figures become null."""
    if hasattr(v, "item") and not isinstance(v, (list, tuple, dict)):
        v = v.item()  # numpy scalars
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


_CSS = """body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}
.pass{background:#2e7d32}.fail{background:#c62828}.banner{color:#fff;padding:.6em 1em;
font-size:1.4em;border-radius:4px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}td.bad{color:#c62828;
font-weight:bold}img{max-width:100%}"""


def write(result: Result, out_dir: str | Path, name: str | None = None) -> tuple[Path, Path]:
    """Write NAME.html and NAME.json into out_dir; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = name or result.kind
    doc = result.summary()
    json_path = out / f"{name}.json"
    write_text(json_path, json.dumps(doc, indent=2))
    e = html.escape
    verdict = "PASS" if result.passed else "FAIL"
    parts = [f"<!doctype html><meta charset=utf-8><title>{e(result.title)}</title>",
             f"<style>{_CSS}</style><h1>{e(result.title)}</h1>"]
    if result.verdict:
        parts.append(f"<div class='banner {verdict.lower()}'>{verdict}</div>")
    if result.reasons:
        parts.append("<h2>Why it failed</h2><ul>" +
                     "".join(f"<li>{e(r)}</li>" for r in result.reasons) + "</ul>")
    if result.checks:
        parts.append("<h2>Checks</h2><table><tr><th>check</th><th>measured</th><th>limit</th>"
                     "<th></th></tr>")
        for c in result.checks:
            sign = "≤" if c.kind == "max" else "≥"
            parts.append(f"<tr><td>{e(c.name)}</td><td class={'ok' if c.ok else 'bad'}>"
                         f"{c.value:.4g} {e(c.unit)}</td><td>{sign} {c.limit:.4g} {e(c.unit)}"
                         f"</td><td>{'ok' if c.ok else 'FAIL'}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Figures</h2><table>" + "".join(
        f"<tr><td>{e(k)}</td><td>{e(_fmt(v))}</td></tr>" for k, v in result.figures.items())
        + "</table>")
    for caption, rows in result.tables.items():
        if rows:
            cols = list(dict.fromkeys(k for r in rows for k in r))  # rows may lack some
            parts.append(f"<h2>{e(caption)}</h2><table><tr>" +
                         "".join(f"<th>{e(k)}</th>" for k in cols) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{e(_fmt(r.get(k, '')))}</td>" for k in cols)
                      + "</tr>" for r in rows]
            parts.append("</table>")
    for caption, fig in (result.plot() if result.plot else {}).items():
        parts.append(f"<h2>{e(caption)}</h2><img alt='{e(caption)}' src='{_png(fig)}'>")
    if result.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in result.notes)
                     + "</ul>")
    parts.append(f"<p><small>written {e(doc['written_utc'])}; figures also in "
                 f"{e(json_path.name)}</small></p>")
    html_path = out / f"{name}.html"
    write_text(html_path, "\n".join(parts))
    return html_path, json_path


LIST_SHOWN = 12  # longer lists (an hour's beat times) stay in the JSON only


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)) and len(v) > LIST_SHOWN:
        return f"{len(v)} values (in the JSON)"
    return str(v)
