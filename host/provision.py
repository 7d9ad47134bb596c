"""`empathy keys provision UNITS --template edge.toml --out DIR`: everything 75 units need.

For each unit, one bundle to copy onto it (``DIR/unitN/``): its keystore (its own key and
the host's public cue key, 0600), its edge config (the template with its unit id, its seats and its
credentials filled in) and, for an MQTT uplink, its broker password (0600). For the host
(``DIR/host/``): the broker's password file and ACL for every unit, the host's own broker
password (one per host worker, `host_workers`: the broker holds one connection per user),
and a ``[seatmap]`` table for host.toml listing which unit carries which seats.
The unit keys go into the host's keystore (`--keystore`), as `empathy keys new` does.

Seats: the template's ``[[seats]]`` give each unit's sources; unit number i (0-based, in
the order given) gets seat ids ``first_seat + i*K .. + K-1`` for K seats. With
``numbering="row"`` the cinema guide's one numbering holds instead (unit id = row x 100 +
the box's place from the left, seat id = row x 100 + seat number): unit 302 with 4 seats
carries seats 305-308, whatever order the units are given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import tomli_w

from empathy import broker_auth, toml_text
from empathy.config import ConfigError, loads
from empathy.keys import KeyError_, Keystore
from empathy.paths import read_file

CA_NAME = "ca.crt"


@dataclass
class Bundle:
    unit: int
    folder: Path
    seats: list[int]


def _place(unit_path: str, unit: int, name: str) -> str:
    return str(Path(unit_path.replace("{unit}", str(unit))) / name)


def _uplink(url: str, unit: int, unit_path: str, ca: bool) -> str:
    """The template's uplink with this unit's broker user, password file and CA."""
    u = urlsplit(url)
    if u.scheme not in ("mqtt", "mqtts"):
        return url  # UDP and serial links carry no broker credentials
    host = u.hostname or "127.0.0.1"
    netloc = f"{broker_auth.unit_user(unit)}@{host}" + (f":{u.port}" if u.port else "")
    q = dict(parse_qsl(u.query))
    q["password_file"] = _place(unit_path, unit, f"{broker_auth.unit_user(unit)}.mqtt")
    if ca:
        q["ca"] = _place(unit_path, unit, CA_NAME)
    return urlunsplit((u.scheme, netloc, u.path, urlencode(q, safe="/"), ""))


def _template(path: Path) -> dict:
    from empathy.edge.unit_config import EdgeConfig

    try:
        text = read_file(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    loads(EdgeConfig, text, str(path))  # refused with file:line like any edge config
    return toml_text.loads(text)


NUMBERINGS = ("consecutive", "row")


def _seat_ids(units: list[int], per_unit: int, first: int, numbering: str) -> list[list[int]]:
    if numbering == "row":
        out = []
        for u in units:
            row, place = divmod(u, 100)
            if not row or not place or place * per_unit > 99:
                raise KeyError_(f"unit {u} does not follow row numbering (row x 100 + the box's "
                                f"place 1..{99 // per_unit} from the left)")
            out.append([row * 100 + (place - 1) * per_unit + k + 1 for k in range(per_unit)])
        return out
    last = first + len(units) * per_unit - 1
    if not 0 <= first <= last <= 0xFFFF:
        raise KeyError_(f"seat ids {first}..{last} do not fit 0..65535 (--first-seat)")
    return [list(range(first + i * per_unit, first + (i + 1) * per_unit))
            for i in range(len(units))]


def provision(units: list[int], template: Path, out: Path, keystore: Path,
              first_seat: int | None = None, unit_path: str = "/etc/empathy",
              ca: Path | None = None, numbering: str = "consecutive",
              host_workers: int = 1) -> dict:
    doc = _template(Path(template))
    per_unit = len(doc.get("seats", [{"seat_id": 1}]))
    seats_tpl = doc.get("seats", [{"seat_id": 1}])
    first = seats_tpl[0]["seat_id"] if first_seat is None else first_seat
    seat_ids = _seat_ids(units, per_unit, first, numbering)
    ca_text = read_file(ca) if ca else None
    uplink = doc.get("uplink", "udp://127.0.0.1:47100")
    ks = Keystore.load(keystore, "host") if Path(keystore).exists() else Keystore.new([])
    for u in units:
        ks.add(u)
    host_dir = Path(out) / "host"
    host_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # passwords: owner only
    Path(out).chmod(0o700)
    screen = urlsplit(uplink).path.strip("/") or "main"
    passwords = {}
    if urlsplit(uplink).scheme in ("mqtt", "mqtts"):
        passwords = broker_auth.add_users(host_dir, screen, units, host_workers)
        for user in broker_auth.hosts_of(passwords):
            broker_auth.write_credentials(host_dir / f"{user}.mqtt", passwords[user])
    bundles = []
    for i, u in enumerate(units):
        folder = Path(out) / f"unit{u}"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        seats = seat_ids[i]
        ks.for_unit(u).save(folder / f"unit{u}.keys.toml")
        cfg = {**doc, "unit_id": u, "keystore": _place(unit_path, u, f"unit{u}.keys.toml"),
               "uplink": _uplink(uplink, u, unit_path, ca_text is not None),
               "seats": [{**t, "seat_id": s} for t, s in zip(seats_tpl, seats)]}
        (folder / "edge.toml").write_text(f"# unit {u}: made by `empathy keys provision` from "
                                          f"{Path(template).name}\n" + tomli_w.dumps(cfg))
        if broker_auth.unit_user(u) in passwords:
            broker_auth.write_credentials(folder / f"{broker_auth.unit_user(u)}.mqtt",
                                          passwords[broker_auth.unit_user(u)])
        if ca_text is not None:
            (folder / CA_NAME).write_bytes(ca_text)
        bundles.append(Bundle(u, folder, seats))
    ks.save(keystore)  # last: a failure above leaves the host's keystore as it was
    (host_dir / "seatmap.toml").write_text("".join(
        ["# Paste into host.toml: which unit carries which seats (`empathy keys provision`).\n"
         f"[seatmap]\nmax_seats_per_unit = {per_unit}\nlock_unknown = false  # every unit is "
         "listed: any other seat is refused\n"]
        + [f"\n[[seatmap.units]]\nunit = {b.unit}\nseats = {b.seats}\n" for b in bundles]))
    return {"units": [{"unit": b.unit, "bundle": str(b.folder), "seats": b.seats}
                      for b in bundles],
            "host": str(host_dir), "keystore": str(keystore), "screen": screen,
            "broker": bool(passwords)}
