"""`brainflow://<board>?<params>`: any board BrainFlow supports as a seat's sensor.

The board is named as BrainFlow names it (`synthetic`, `emotibit`, `cyton`, `muse_s`,
`playback_file`, ... case and a `_board` suffix optional) or by its numeric id. The query
passes BrainFlow's connection parameters through: serial_port, mac_address, ip_address,
ip_port, ip_protocol, serial_number, file, master_board (a name or id), other_info, timeout
(and their `_aux` / `_anc` variants). The board's own description
(`BoardShim.get_board_descr`, every preset) says which rows carry PPG, ECG and EDA; each
becomes `Waveform` chunks (kind ppg, ecg, eda) at the board's rate, one channel per kind
(`ppg_channel=`, `ecg_channel=`, `eda_channel=`: the index among that kind's rows,
default 0). `kinds=ppg,eda` picks which; by default every kind the board has, except
that ECG is left out where the board's "ECG" rows are its EEG rows (general ExG inputs
carry a heart only if electrodes are placed for it: ask with `kinds=ecg`).
`empathy sensors boards` lists what every board gives.

EDA comes in microsiemens (EmotiBit's unit); a chunk with a value outside 0..100 µS or a
non-finite sample is dropped and counted. BrainFlow stamps samples with the wall clock
(UNIX seconds); each chunk's stamps are moved onto the monotonic clock by the offset
between the two read at that moment, so a wall-clock step between reads costs nothing.
If the board fails (unplugged, out of range) or sends nothing for `silence_s` (default 3)
the source says so as `Health` and opens it again every `retry_s` (default 2). One board
serves one seat. A playback file is checked first (brainflow_checks.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Optional

import numpy as np
from brainflow.board_shim import (BoardIds, BoardShim, BrainFlowError, BrainFlowInputParams,
                                  BrainFlowPresets)

from empathy.clock import now_us
from empathy.sensors.base import Health, Reading, SourceError, Waveform, drain
from empathy.sensors.brainflow_checks import (KINDS, PARAMS, channel_index, check_keys,
                                              check_playback_file, seconds)
from empathy.whole import whole

log = logging.getLogger("empathy.sensors.brainflow")

# whole-number parameters and their range (BrainFlow takes any int, and overflows or waits)
INT_PARAMS = {"ip_port": (0, 65535), "ip_protocol": (0, 2), "timeout": (0, 3600)}
EDA_RANGE_US = (0.0, 100.0)
# PPG/ECG come in the board's own units (ADC counts, µV): no range, but nothing a 24-bit
# ADC or a body gives reaches 1e9, and 1e308 overflows the heart detector's filters
WAVE_LIMIT = 1e9
READ_S = 0.1
CLOSE_S = 1.0

# (board, parameters) -> the URL holding it. BrainFlow keys its boards by the two, and a
# second BoardShim on them, refused, releases the first one's session when collected
# (BoardShim.__del__ asks is_prepared() of the key): two seats on one board would stop both.
_HELD: dict[tuple, str] = {}
_HELD_LOCK = threading.Lock()

BoardShim.disable_board_logger()  # its INFO lines on stderr; errors come back as exceptions


def board_id(name: str) -> int:
    """A BrainFlow board by name (any case, `_board` optional) or numeric id."""
    text = name.strip()
    number = whole(text.removeprefix("-"))
    if number is not None:
        if (n := -number if text.startswith("-") else number) in {b.value for b in BoardIds}:
            return n
    else:
        key = text.upper().replace("-", "_")
        for cand in (key, key + "_BOARD"):
            if cand in BoardIds.__members__:
                return BoardIds[cand].value
    raise SourceError(f"unknown BrainFlow board {name!r} (see `empathy sensors boards`)")


def board_channels(board: int) -> dict[str, dict]:
    """kind -> {preset, rows, fs_hz, ts_row, shared_with_eeg} for every kind the board has,
    from its own description (the first preset that carries the kind)."""
    out: dict[str, dict] = {}
    # Only the presets the board has: asking for another one leaves BrainFlow's table of
    # boards broken for the rest of the process (start_stream then fails).
    for preset in sorted(BrainFlowPresets(p) for p in BoardShim.get_board_presets(board)):
        d = BoardShim.get_board_descr(board, preset)
        for kind in KINDS:
            rows = d.get(f"{kind}_channels") or []
            if rows and kind not in out and "timestamp_channel" in d:
                out[kind] = {"preset": preset, "rows": list(rows),
                             "fs_hz": float(d["sampling_rate"]),
                             "ts_row": d["timestamp_channel"],
                             "shared_with_eeg": bool(set(rows) & set(d.get("eeg_channels") or []))}
    return out


def input_params(query: dict) -> BrainFlowInputParams:
    p = BrainFlowInputParams()
    for key, value in query.items():
        base = key.removesuffix("_aux").removesuffix("_anc")
        if base not in PARAMS:
            continue
        if base == "master_board":
            setattr(p, key, board_id(value))
        elif base in INT_PARAMS:
            lo, hi = INT_PARAMS[base]
            v = value.strip()
            n = whole(v)
            if n is None or not lo <= n <= hi:
                raise SourceError(f"{key} must be a whole number {lo}..{hi}, got {value!r}")
            setattr(p, key, n)
        else:
            setattr(p, key, value)
    return p


def wall_to_mono_s() -> float:
    """time.monotonic() - time.time() now (the median of three back-to-back reads)."""
    d = sorted(time.monotonic() - time.time() for _ in range(3))
    return d[1]


class BrainflowSource:
    """One BrainFlow board. See the module docstring for the URL."""

    def __init__(self, url: str, query: dict, stop: Optional[threading.Event] = None, **_):
        """`stop`: the unit's, set on SIGTERM: a long file check ends on it."""
        self.url = url
        name = url[len("brainflow://"):].partition("?")[0].strip("/")
        if not name:
            raise SourceError(f"{url}: name the board (brainflow://synthetic, "
                              "brainflow://emotibit?ip_address=...)")
        try:
            check_keys(query)
            self.board = board_id(name)
            self.params = input_params(query)
            self.retry_s, self.silence_s = seconds(query, "retry_s"), seconds(query, "silence_s")
            described = self._described()
        except SourceError as e:
            raise SourceError(f"{url}: {e}") from None
        chans = board_channels(described)
        wanted = query.get("kinds")
        exg = {k for k, c in chans.items() if k == "ecg" and c["shared_with_eeg"]}
        kinds = ([k.strip() for k in wanted.split(",") if k.strip()] if wanted else
                 [k for k in KINDS if k in chans and k not in exg])
        for k in kinds:
            if k not in chans:
                raise SourceError(f"{url}: the board has no {k} channel "
                                  f"(it has: {', '.join(chans) or 'none of ppg, ecg, eda'})")
        if not kinds:
            raise SourceError(f"{url}: the board has no PPG, ECG or EDA channel" + (
                " (its ECG rows are general ExG inputs: with chest electrodes, add kinds=ecg)"
                if "ecg" in chans else ""))
        self.channels = {}
        try:
            for k in kinds:
                i = channel_index(query, k, len(chans[k]["rows"]))
                self.channels[k] = {**chans[k], "row": chans[k]["rows"][i]}
            if self.board == BoardIds.PLAYBACK_FILE_BOARD.value:
                check_playback_file(self.params.file, BoardShim.get_num_rows(described),
                                    BoardShim.get_timestamp_channel(described), stop)
        except SourceError as e:
            raise SourceError(f"{url}: {e}") from None
        self.sensor = f"brainflow:{name}"
        self.chunks = self.rejected = self.reconnects = self.silences = 0
        self._q: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.shim: Optional[BoardShim] = None
        self._key = (self.board, self.params.to_json())
        with _HELD_LOCK:
            if self._key in _HELD:
                raise SourceError(f"{url}: the board is already another seat's ({_HELD[self._key]}):"
                                  " one board, one seat")
            _HELD[self._key] = url
        try:
            self._open()  # a board missing at start is a config error, said at once
        except BrainFlowError as e:
            self._unhold()
            raise SourceError(f"{url}: cannot open the board: {e}") from None
        self._thread = threading.Thread(target=self._run, name=f"brainflow {name}", daemon=True)
        self._thread.start()

    def _described(self) -> int:
        """The board whose description gives the rows: a playback board's master board."""
        if self.board != BoardIds.PLAYBACK_FILE_BOARD.value:
            return self.board
        if not self.params.file:
            raise SourceError("name the recording: file=PATH")
        if self.params.master_board < 0 and \
                self.params.master_board != BoardIds.SYNTHETIC_BOARD.value:
            raise SourceError("name the board that recorded the file: master_board=NAME "
                              "(a real board or synthetic)")
        return self.params.master_board

    def _open(self) -> None:
        shim = BoardShim(self.board, self.params)
        shim.prepare_session()
        try:
            shim.start_stream()
        except BrainFlowError:
            shim.release_session()
            raise
        self.shim = shim
        self._q.put(Health(now_us(), self.sensor, contact=True))

    def _release(self) -> None:
        if self.shim is not None:
            try:
                self.shim.stop_stream()
            except BrainFlowError:
                pass
            try:
                self.shim.release_session()
            except BrainFlowError:
                pass
            self.shim = None

    def _run(self) -> None:
        presets = sorted({c["preset"] for c in self.channels.values()})
        heard = time.monotonic()
        while not self._stop.wait(READ_S):
            if self.shim is None:
                try:
                    self._open()
                    self.reconnects += 1
                    heard = time.monotonic()
                except BrainFlowError:
                    self._stop.wait(self.retry_s)
                continue
            try:
                for preset in presets:
                    data = self.shim.get_board_data(preset=preset)
                    heard = time.monotonic() if data.size else heard
                    for r in self._readings(preset, data, wall_to_mono_s()):
                        self._q.put(r)
            except BrainFlowError as e:
                self._fail(f"board failed: {e}")
                continue
            # a board out of range often fails no call: it just stops sending
            if time.monotonic() - heard > self.silence_s:
                self._fail(f"no data for {self.silence_s:g} s (silence_s)")
        self._release()  # here, in the thread that uses the board, never beside a call

    def _fail(self, why: str) -> None:
        log.warning("board failed", extra={"url": self.url, "error": why})
        self._q.put(Health(now_us(), self.sensor, contact=False, fault=why))
        self.silences += why.startswith("no data")
        self._release()

    def _readings(self, preset, data: np.ndarray, offset_s: float) -> list[Reading]:
        out: list[Reading] = []
        if data.ndim != 2 or data.shape[1] == 0:
            return out
        for kind, c in self.channels.items():
            if c["preset"] != preset:
                continue
            x = data[c["row"]].astype(np.float64)
            bad = ~np.isfinite(x)
            if kind == "eda":
                bad |= (x < EDA_RANGE_US[0]) | (x > EDA_RANGE_US[1])
            else:
                bad |= np.abs(x) > WAVE_LIMIT
            if bad.any():
                self.rejected += int(bad.sum())
                continue
            t0 = data[c["ts_row"], 0] + offset_s
            if not np.isfinite(t0):  # a broken stamp: the chunk cannot be placed in time
                self.rejected += len(x)
                continue
            self.chunks += 1
            out.append(Waveform(int(round(t0 * 1e6)), kind, c["fs_hz"], x))
        return out

    # -- Source ----------------------------------------------------------------------------
    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        return drain(self._q, timeout_s)

    def stats(self) -> dict:
        return {"board": BoardIds(self.board).name, "chunks": self.chunks,
                "rejected": self.rejected, "reconnects": self.reconnects,
                "silences": self.silences,
                "channels": {k: {"row": c["row"], "fs_hz": c["fs_hz"]}
                             for k, c in self.channels.items()}}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=CLOSE_S)
        if self._thread.is_alive():  # stuck in a BrainFlow call: the process's exit ends it
            log.warning("board did not stop", extra={"url": self.url, "wait_s": CLOSE_S})
        else:
            self._unhold()

    def _unhold(self) -> None:
        with _HELD_LOCK:
            _HELD.pop(self._key, None)


def boards_table() -> list[dict]:
    """Every board BrainFlow knows, with the PPG/ECG/EDA channels its description lists."""
    rows = []
    for b in BoardIds:
        if b.value < 0 and b != BoardIds.SYNTHETIC_BOARD:
            continue  # playback and streaming boards take the channels of a master board
        chans = board_channels(b.value)
        row = {"board": b.name.lower().removesuffix("_board"), "id": b.value}
        for k in KINDS:
            c = chans.get(k)
            row[k] = (f"{len(c['rows'])} @ {c['fs_hz']:g} Hz"
                      + (" (ExG)" if c["shared_with_eeg"] else "")
                      + (f" [{c['preset'].name.split('_')[0].lower()}]"
                         if c["preset"] != BrainFlowPresets.DEFAULT_PRESET else "")) if c else ""
        rows.append(row)
    return rows
