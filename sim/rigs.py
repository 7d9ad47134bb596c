"""Simulated hardware for `empathy demo --serial-seat --ble-seat`: seats fed through the
real drivers instead of `sim://`.

- serial: a simulated sensor board process (sim/board.py, running the
  firmware's own loop, with a GSR front end) writes our protocol into a real pty; the seat reads
  `serial://<pty>` with the pyserial driver.
- BLE: a private BlueZ-shaped system bus (sim/strap.py) with one strap worn by
  a simulated viewer; the seat reads `ble://<address>` with the bleak driver. With
  `ble_hr_only` the device sends its own heart rate only, no RR intervals. Edge units
  started after this inherit DBUS_SYSTEM_BUS_ADDRESS, so they talk to that bus.

- LSL (`--lsl-seat`): a lab's ECG amplifier as an LSL outlet in this process, streaming a
  simulated viewer's ECG (sim/ecg.py) at 250 Hz; the seat reads `lsl://` (pylsl).
- BrainFlow (`--brainflow-seat`): a recording of a simulated viewer's ECG written in
  BrainFlow's file format and played by BrainFlow's playback board; the seat reads
  `brainflow://playback_file?...&kinds=ecg` (the real BrainFlow library).
- Polar H10 ECG (`--ecg-seat`): a strap with the measurement-data service on the private
  BlueZ bus; the seat reads `ble://<address>?ecg=1` and finds R-peaks in the raw ECG.

These viewers do not watch the film (they get no screen cues), so they write no truth file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from empathy.sensors.base import SourceError

STRAP_ADDRESS = "C0:FF:EE:00:0D:01"
H10_ADDRESS = "C0:FF:EE:00:0D:10"
LSL_FS_HZ = 250.0


class DemoRigs:
    def __init__(self, folder: Path, serial_seat: Optional[int], ble_seat: Optional[int],
                 seed: int = 1, lsl_seat: Optional[int] = None,
                 brainflow_seat: Optional[int] = None, ecg_seat: Optional[int] = None,
                 brainflow_s: float = 600.0, nuisance: float = 1.0, ble_hr_only: bool = False,
                 lifeline=None):
        """nuisance: how restless the straps' wearers are (sim/nuisance.py; 0: a still,
        well-strapped wearer, for tests of the device path itself). lifeline: the demo's
        (edge/lifeline.py): the board process and the BLE seats' bus stop once the
        demo has gone."""
        self.nuisance = nuisance
        if any(s is not None and s < 1 for s in (ble_seat, lsl_seat, brainflow_seat, ecg_seat)):
            raise SourceError("more hardware seats asked for than there are seats")
        folder.mkdir(parents=True, exist_ok=True)
        self.sources: dict[int, str] = {}
        self._board: Optional[subprocess.Popen] = None
        self._lifeline = lifeline
        self._popen = lifeline.popen if lifeline else subprocess.Popen
        self._bluez = None
        self._notified: Optional[int] = None
        self._ecg_frames = 0
        self._lsl = None
        self.rest_bpm: dict[int, float] = {}  # a hardware seat's viewer at rest (for tests)
        self.wearers: dict = {}  # a strap seat's simulated wearer (its heart now, for tests)
        try:
            if serial_seat:
                self._start_board(folder, serial_seat, seed)
            if ble_seat:
                self._start_strap(folder, ble_seat, seed, rr=not ble_hr_only)
            if ecg_seat:
                self._start_strap(folder, ecg_seat, seed, h10=True)
            if lsl_seat:
                self._start_lsl(lsl_seat, seed)
            if brainflow_seat:
                self._write_brainflow(folder, brainflow_seat, seed, brainflow_s)
        except BaseException:
            self.close()
            raise

    def _start_board(self, folder: Path, seat: int, seed: int) -> None:
        link, log = folder / f"board_seat{seat}.tty", folder / f"board_seat{seat}.log"
        self._board_log = open(log, "w")
        self._board = self._popen(
            [sys.executable, "-m", "empathy.sim.board", "--link", str(link), "--gsr",
             "--seed", str(seed * 1000 + seat)], stdout=self._board_log,
            stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while not link.exists():
            if self._board.poll() is not None or time.monotonic() > end:
                raise SourceError(f"simulated sensor board did not start (see {log})")
            time.sleep(0.05)
        self.sources[seat] = f"serial://{link}"

    def _start_strap(self, folder: Path, seat: int, seed: int, h10: bool = False,
                     rr: bool = True) -> None:
        try:
            from empathy.sim.strap import BluezSim
        except ImportError as e:
            raise SourceError(f"--ble-seat and --ecg-seat need the test extras (python-dbusmock, "
                              f"dbus-python): pip install 'empathy-engine[test]' ({e})") from None
        from empathy.sim.seat import SimSource

        if self._bluez is None:
            self._bluez = BluezSim(str(folder / "bluez_mock.log"), self._lifeline)
        address = H10_ADDRESS if h10 else STRAP_ADDRESS
        strap = self._bluez.add_strap(address, f"{'Polar H10' if rr else 'HR broadcast'} seat "
                                      f"{seat}", pmd=h10, rr=rr)
        s, ecg = seed * 1000 + seat, "1" if h10 else "0"  # (an H10 streams its wearer's ECG)
        viewer = SimSource(f"sim://strap?seed={s}&nuisance={self.nuisance:g}&ecg={ecg}",
                           {"seed": s, "nuisance": f"{self.nuisance:g}", "ecg": ecg}, faces=False)
        self._bluez.wear(strap, viewer)
        self.rest_bpm[seat], self.wearers[seat] = viewer.viewer.hr0, viewer
        self.sources[seat] = f"ble://{address}" + ("?ecg=1" if h10 else "")

    def _start_lsl(self, seat: int, seed: int) -> None:
        self._lsl = LslAmp(seed * 1000 + seat)
        self.rest_bpm[seat] = self._lsl.viewer.viewer.hr0
        self.sources[seat] = f"lsl://?source_id={self._lsl.source_id}&type=ECG"

    def _write_brainflow(self, folder: Path, seat: int, seed: int, seconds: float) -> None:
        """A viewer's ECG recording in BrainFlow's file format, in the synthetic board's
        rows, for BrainFlow's playback board (which plays it in real time)."""
        import numpy as np
        from brainflow.board_shim import BoardIds, BoardShim
        from brainflow.data_filter import DataFilter

        from empathy.sim.ecg import LAG_S, EcgSynth

        board = BoardIds.SYNTHETIC_BOARD.value
        fs = BoardShim.get_sampling_rate(board)
        rng = np.random.default_rng(seed * 1000 + seat)
        hr0 = rng.normal(68, 6)  # resting, with breathing's sway and some variability
        t, beats = 1.0, []
        while t < seconds + 2:
            beats.append(t)
            t += 60 / hr0 * (1 + 0.04 * np.sin(2 * np.pi * 0.25 * t)) + rng.normal(0, 0.02)
        self.rest_bpm[seat] = 60 / float(np.mean(np.diff(beats)))
        ecg, parts = EcgSynth(seed, fs_hz=fs), []
        for b in beats:  # beat by beat, as the synthesiser keeps only the last few
            ecg.beat(int(b * 1e6))
            parts.append(ecg.take(int(b * 1e6))[1])
        parts.append(ecg.take(int((seconds + LAG_S) * 1e6))[1])
        x = np.concatenate(parts)
        data = np.zeros((BoardShim.get_num_rows(board), len(x)))
        data[BoardShim.get_ecg_channels(board)[0]] = x
        data[BoardShim.get_timestamp_channel(board)] = np.arange(len(x)) / fs
        path = folder / f"brainflow_seat{seat}.csv"
        DataFilter.write_file(data, str(path), "w")
        self.sources[seat] = (f"brainflow://playback_file?file={path}&master_board=synthetic"
                              "&kinds=ecg")

    def stats(self) -> dict:
        """Where the hardware seats read from, and how many strap notifications went out."""
        out: dict = {"sources": {str(k): v for k, v in self.sources.items()}}
        if self._bluez is not None:
            self._notified = sum(s.notified for s in self._bluez.straps)
            self._ecg_frames = sum(s.pmd_frames for s in self._bluez.straps)
        if self._notified is not None:
            out["ble_notifications"] = self._notified
            out["ecg_frames"] = self._ecg_frames
        return out

    def close(self) -> None:
        if self._board is not None:
            self._board.terminate()
            try:
                self._board.wait(10)
            except subprocess.TimeoutExpired:
                self._board.kill()
            self._board_log.close()
            self._board = None
        if self._bluez is not None:
            self.stats()  # keep the counts: the bus is gone after this
            self._bluez.close()
            self._bluez = None
        if self._lsl is not None:
            self._lsl.close()
            self._lsl = None


class LslAmp:
    """An ECG amplifier publishing a simulated viewer's ECG as an LSL stream (250 Hz, µV),
    each chunk stamped with when its samples were measured."""

    def __init__(self, seed: int):
        import threading
        import uuid

        import pylsl

        from empathy.sim.ecg import EcgSynth
        from empathy.sim.seat import SimSource

        self.source_id = f"sim-amp-{uuid.uuid4().hex[:8]}"
        info = pylsl.StreamInfo("SimAmp ECG", "ECG", 1, LSL_FS_HZ, pylsl.cf_float32,
                                self.source_id)
        ch = info.desc().append_child("channels").append_child("channel")
        ch.append_child_value("label", "ECG")
        ch.append_child_value("unit", "microvolts")
        self.outlet = pylsl.StreamOutlet(info)
        self.viewer = SimSource(f"sim://amp?seed={seed}", {"seed": seed}, faces=False)
        self.ecg = EcgSynth(seed, fs_hz=LSL_FS_HZ)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim lsl amp", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from empathy.clock import now_us
        from empathy.sensors.base import Beat

        while not self._stop.wait(0.05):
            for r in self.viewer.read(timeout_s=0):
                if isinstance(r, Beat):
                    self.ecg.beat(r.ts_us)
            t0_us, x = self.ecg.take(now_us())
            if len(x):  # LSL stamps a chunk by its newest sample (on local_clock = ours)
                self.outlet.push_chunk(x.reshape(-1, 1).tolist(),
                                       (t0_us + (len(x) - 1) * 1e6 / LSL_FS_HZ) / 1e6)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.viewer.close()
