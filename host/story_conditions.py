"""Conditions on a story's variables: when a decision offers an option (`when`), and the
values a choice may set (`sets`) checked against the variables' types.

A condition is `NAME`, `not NAME` or `NAME OP VALUE` (OP: == != < <= > >=), joined by
`and` / `or` (`and` binds tighter); compiled once when the story is read, evaluated at
each decision.
"""

from __future__ import annotations

import math
import re
import tomllib

from empathy import toml_text

_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_TERM = re.compile(r"^(not\s+)?([A-Za-z_]\w*)(?:\s*(==|!=|<=|>=|<|>)\s*(.+))?$")


def holds(cond: tuple, variables: dict) -> bool:
    """Evaluate a compiled condition: a tuple of or-ed tuples of and-ed terms."""
    return any(all((_OPS[op](variables[name], value) if op else bool(variables[name])) != neg
                   for neg, name, op, value in terms) for terms in cond)


def compile_condition(text: str, variables: dict) -> tuple:
    """Parse a condition, checking every name and value type against the variables."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a condition must be a non-empty string, not {text!r}")
    out = []
    for alt in re.split(r"\s+or\s+", text.strip()):
        terms = []
        for term in re.split(r"\s+and\s+", alt):
            m = _TERM.match(term.strip())
            if not m:
                raise ValueError(f"cannot read condition {term!r} (NAME, not NAME, NAME == VALUE)")
            neg, name, op, lit = m.groups()
            if name not in variables:
                raise ValueError(f"condition uses {name!r}, which is not in [variables]")
            value = _literal(lit, variables[name], name) if op else None
            terms.append((bool(neg), name, op, value))
        out.append(tuple(terms))
    return tuple(out)


def _literal(lit: str, like, name: str):
    lit = lit.strip()
    try:
        value = toml_text.loads(f"v = {lit}")["v"]
    except tomllib.TOMLDecodeError:
        value = lit  # a bare word is a string
    if not same_type(value, like):
        raise ValueError(f"{name!r} is {type(like).__name__}, compared with {lit!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name!r} is compared with {lit!r}, which is not a finite number")
    return value


def same_type(value, like) -> bool:
    if isinstance(like, bool) or isinstance(value, bool):
        return type(value) is type(like)
    if isinstance(like, (int, float)):
        return isinstance(value, (int, float))
    return type(value) is type(like)
