"""The config reference and templates, generated from the dataclass schemas the loader uses.

A field's meaning lives next to it, as a `#:` comment on the line(s) above it or at the end
of its line (the doc-comment convention Sphinx autodoc reads too):

    @dataclass
    class ShowConfig:
        #: where edge units' packets arrive (udp://HOST:PORT or mqtt://...)
        listen: str = "udp://127.0.0.1:47100"
        fps: float = 25.0  #: the show's frame rate. Example: 30

`Example: VALUE` (TOML) at the end of a meaning gives the reference's example; the template
shows it as a comment, and writes it as the value of a key the file must set (one without
a default, or whose meaning says "(required)" because `validate()` refuses its default). Plain `#` comments are for the
code's reader and never reach the reference. A field without a meaning is listed by
`undocumented()`; the reference still builds (its meaning reads "(undocumented)") and the
drift test fails naming the field and where to write it.

    empathy config reference [--out docs/config-reference.md] [--check]
    empathy config example host|edge
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import inspect
import io
import json
import math
import re
import textwrap
import tokenize
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

REFERENCE = Path("docs/config-reference.md")
UNDOCUMENTED = "(undocumented)"


def schemas() -> dict[str, type]:
    """The config files and their top-level schemas (imported here: heavy modules)."""
    from empathy.edge.unit_config import EdgeConfig
    from empathy.host.cli import HostConfig

    return {"host": HostConfig, "edge": EdgeConfig}


@dataclass
class Key:
    path: str            # as written in the file: "show.listen", "seats[].source"
    table: str           # the table it sits in: "", "show", "seats" (of an array of tables)
    name: str
    type: str            # "string", "integer", "number", "boolean", "list of strings", ...
    default: Any         # dataclasses.MISSING when required
    doc: str             # the meaning, "" when undocumented
    example: Optional[str]  # TOML text
    where: str           # "host/show.py:45 (ShowConfig.fps)"
    sub: Optional[type] = None  # its own schema, when it is a table or an array of tables
    array: bool = False  # it is an array of tables ([[seats]]), one table per entry

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING


def toml_value(v: Any) -> str:
    """A value as TOML (inline), for defaults and templates."""
    if dataclasses.is_dataclass(v):
        v = dataclasses.asdict(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"no TOML form for {v!r}")


def _type_name(tp) -> tuple[str, Optional[type], bool]:
    """(name, nested schema, is an array of tables)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        name, sub, arr = _type_name(inner[0])
        return f"{name} (optional)", sub, arr
    if dataclasses.is_dataclass(tp):
        return "table", tp, False
    if origin in (list, tuple):
        item = args[0] if args else Any
        if dataclasses.is_dataclass(item):
            return "list of tables", item, True
        return f"list of {_type_name(item)[0]}s", None, False
    if origin is dict:
        return f"table of {_type_name(args[1])[0]}s", None, False
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        tp, getattr(tp, "__name__", str(tp))), None, False


def field_docs(cls: type) -> dict[str, tuple[str, int]]:
    """field -> (its `#:` meaning, its line in the file) for one dataclass."""
    # No garbage collection while the AST is built: a finaliser that runs in the middle
    # (an asyncio task destroyed pending logs an error) makes CPython 3.11.7's AST
    # constructor fail with "recursion depth mismatch" (seen in the test suite)
    was = gc.isenabled()
    gc.disable()
    try:
        lines, first = inspect.getsourcelines(cls)
        src = textwrap.dedent("".join(lines))
        tree = ast.parse(src)
    finally:
        if was:
            gc.enable()
    comments: dict[int, tuple[str, bool]] = {}  # line -> (text after "#:", whole line?)
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT and tok.string.startswith("#:"):
            alone = not tok.line[: tok.start[1]].strip()
            comments[tok.start[0]] = (tok.string[2:].strip(), alone)
    body = tree.body[0].body
    out = {}
    for node in body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        trailing = [comments[n][0] for n in range(node.lineno, node.end_lineno + 1)
                    if n in comments and not comments[n][1]]
        above, n = [], node.lineno - 1
        while n in comments and comments[n][1]:
            above.insert(0, comments[n][0])
            n -= 1
        out[node.target.id] = (" ".join(above + trailing).strip(), first + node.lineno - 1)
    return out


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _split_example(doc: str) -> tuple[str, Optional[str]]:
    m = re.search(r"\s*\bExample:\s*(.+)$", doc)
    return (doc[: m.start()].strip(), m.group(1).strip()) if m else (doc, None)


def schema_keys(cls: type, prefix: str = "", table: str = "") -> list[Key]:
    """Every key of a schema, depth first, scalars of a table before its sub-tables."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    try:
        file = Path(inspect.getsourcefile(cls)).resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        file = Path(inspect.getsourcefile(cls)).name
    here, nested = [], []
    for f in dataclasses.fields(cls):
        name, sub, arr = _type_name(hints[f.name])
        doc, line = docs.get(f.name, ("", 0))
        meaning, example = _split_example(doc)
        path = f"{prefix}{f.name}"
        key = Key(path, table, f.name, name, _default(f), meaning, example,
                  f"{file}:{line} ({cls.__name__}.{f.name})", sub, arr)
        (nested if sub else here).append(key)
    out = list(here)
    for key in nested:
        out.append(key)
        out += schema_keys(key.sub, f"{key.path}[]." if key.array else f"{key.path}.",
                           key.path)
    return out


def undocumented(cls: type) -> list[Key]:
    return [k for k in schema_keys(cls) if not k.doc]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference_markdown() -> str:
    out = ["# Configuration reference", "",
           "Every key of `host.toml` and `edge.toml`: its type, default, meaning and an example.",
           "Generated from the dataclass schemas the loader checks files against "
           "(`empathy/config.py`), by", "",
           "    empathy config reference --out docs/config-reference.md", "",
           "Do not edit it by hand: `tests/test_config_reference.py` fails when it differs from "
           "the schemas. A commented template of each file that loads clean: "
           "`empathy config example host|edge` (`config check --schema-only` passes it; the "
           "files it names, such as the keystore and the story, are yours to make, and a "
           "plain `config check` lists each one missing). Check a real file with "
           "`empathy config check FILE`.",
           ""]
    for kind, cls in schemas().items():
        out += [f"## {kind}.toml", "", f"Schema: `{cls.__module__}.{cls.__qualname__}`.", ""]
        out += _tables(schema_keys(cls))
    return "\n".join(out).rstrip() + "\n"


def _tables(keys: list[Key]) -> list[str]:
    out, current = [], None
    for k in keys:
        if k.sub is not None:
            continue
        if k.table != current:
            current = k.table
            parent = next((p for p in keys if p.path == current), None)
            if parent is not None:
                name = current.replace("[]", "")
                head = f"[[{name}]]" if parent.array else f"[{name}]"
                out += ["", f"### `{head}`", "", (parent.doc or UNDOCUMENTED)
                        + (" A list: one table per entry." if parent.array else ""), ""]
            out += ["| key | type | default | meaning | example |", "|---|---|---|---|---|"]
        default = "required" if k.required else f"`{_cell(toml_value(k.default))}`"
        shown = k.example or (None if k.required else toml_value(k.default))
        example = f"`{_cell(k.name)} = {_cell(shown)}`" if shown else ""
        out.append(f"| `{k.name}` | {k.type} | {default} | {_cell(k.doc or UNDOCUMENTED)} | "
                   f"{example} |")
    return out + [""]


def _wrap(text: str, indent: str = "") -> list[str]:
    return [f"{indent}# {ln}" for ln in textwrap.wrap(text, 88 - len(indent))] or [f"{indent}#"]


def _must_set(k: Key) -> bool:
    return k.required or "(required" in k.doc


def _template_value(k: Key) -> str:
    """The default; for a key the file must set, its example (or an empty value)."""
    if not _must_set(k):
        return toml_value(k.default)
    if k.example:
        return k.example
    return {"string": '""', "integer": "0", "number": "0.0", "boolean": "false"}.get(k.type, '""')


def example_toml(kind: str) -> str:
    """A commented template of `kind`.toml: every key at its default (its example where the
    file must set it); an array of tables shows its first default entry, or one commented
    out when it has none. It loads clean."""
    keys = schema_keys(schemas()[kind])
    by_path = {k.path: k for k in keys}
    out = [f"# {kind}.toml: every key, at its default. Generated by `empathy config example "
           f"{kind}`;", "# types and meanings: docs/config-reference.md", ""]
    current = None
    for k in keys:
        if k.sub is not None:
            continue
        parent = by_path.get(k.table)
        off = bool(parent and parent.array and not parent.default)  # shown commented out
        if k.table != current:
            current = k.table
            if parent is not None:
                name = current.replace("[]", "")
                out += [""] + _wrap(parent.doc or UNDOCUMENTED)
                out.append(("# " if off else "") + (f"[[{name}]]" if parent.array else f"[{name}]"))
        if parent is not None and parent.array and parent.default:
            value = toml_value(getattr(parent.default[0], k.name))
        else:
            value = _template_value(k)
        out += _wrap(k.doc or UNDOCUMENTED)
        if k.example and not _must_set(k):
            out.append(f"#   e.g. {k.name} = {k.example}")
        out.append(("# " if off else "") + f"{k.name} = {value}")
    return "\n".join(out).rstrip() + "\n"
