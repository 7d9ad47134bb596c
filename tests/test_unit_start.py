"""A restarted edge unit is blind till its first packet: a seat that sends beats and pupil
(a BLE strap, an eye camera; `sim://seat` without PPG or EDA) never loads scipy (any of it:
`import numpy, scipy.signal` was ~1.1 of the ~1.2 CPU-s a unit took to its first packet
here, bench/bench_unit_start.py), nor OpenCV or LiteRT without a face camera, whatever the
config's `faces` says (true, its default, loaded both and the expression model: +0.17
CPU-s). The real `empathy edge run` (empathy.cli's main), ended as a show ends it once it
has sent samples; then what its process had imported. No timing."""

import signal
import socket
import subprocess
import sys

import pytest

from empathy.keys import Keystore

RUN_THEN_LIST = ("import sys; from empathy.cli import main; code = main(sys.argv[1:]); "
                 "print(*sorted(sys.modules)); sys.exit(code)")
HEAVY = ("scipy", "cv2", "matplotlib", "ai_edge_litert", "tflite_runtime")
WAVEFORMS = ("empathy.sim.ppg", "empathy.edge.seat_wave", "empathy.edge.eda")


@pytest.mark.parametrize("faces", ["faces = false\n", ""], ids=["faces off", "faces default"])
def test_a_unit_of_beats_and_pupil_starts_without_scipy_or_opencv(tmp_path, faces):
    Keystore.new([7]).for_unit(7).save(tmp_path / "unit7.keys.toml")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        cfg = tmp_path / "edge.toml"
        cfg.write_text(f'unit_id = 7\nuplink = "udp://127.0.0.1:{rx.getsockname()[1]}"\n'
                       f'keystore = "{tmp_path}/unit7.keys.toml"\n{faces}'
                       f'seq_file = "{tmp_path}/seq"\n'
                       '[[seats]]\nseat_id = 70\nsource = "sim://seat?seed=1&faces=0"\n')
        p = subprocess.Popen([sys.executable, "-c", RUN_THEN_LIST, "edge", "run", "--config",
                              str(cfg), "--duration", "120"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            rx.settimeout(60)
            for _ in range(12):  # past its first samples (sync, heartbeat and samples at 10 Hz)
                rx.recv(2048)
        finally:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and "Traceback" not in err, err[-800:]
    loaded = set(out.split())
    assert {"empathy.edge.features", "empathy.sim.seat", "empathy.sim.viewer"} <= loaded
    heavy = {m.partition(".")[0] for m in loaded if m.partition(".")[0] in HEAVY}
    assert not heavy | (loaded & set(WAVEFORMS)), sorted(heavy | (loaded & set(WAVEFORMS)))
