"""Benchmark: per-image latency of the shipped expression models on the edge runtime.

``run()`` returns entries ``{name, value, unit, peer, peer_value, ratio}`` (ratio =
value / peer_value; < 1 means we are faster than the peer):

* ``expression_fer_int8_litert_b1``: the default (FER) model, one 64x64 real face crop
  per ``invoke`` (XNNPACK, 1 thread). Peer: its float32 source converted to .tflite,
  same runtime and crop.
* ``expression_int8_litert_b1``: the simulated-face model, one 48x48 crop per ``invoke``
  through ai-edge-litert (XNNPACK, 1 thread). Peer: the same .tflite run by
  OpenCV's DNN module (``cv2.dnn.readNetFromTFLite``) when this OpenCV can import the
  quantised graph; otherwise peer fields are None (the float TF original is not available
  at run time, and tflite-runtime cannot sit next to numpy 2).
* ``expression_int8_litert_b32``: per-image latency when 32 crops go in one ``invoke``
  (a seat-batched unit). Peer: the batch-1 figure.

Run: ``python -m empathy.bench.bench_infer`` (prints a table).
"""

from __future__ import annotations

import time

import numpy as np

from empathy.edge.expression import SIM_MODEL, ExpressionModel
from empathy.models import MODELS_DIR
from empathy.sim.faces import render_dataset


def _best_us_per_image(fn, n_images: int, repeats: int = 5, min_s: float = 0.3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        k = 0
        t0 = time.perf_counter()
        while True:
            fn()
            k += 1
            dt = time.perf_counter() - t0
            if dt >= min_s / repeats:
                break
        best = min(best, dt / (k * n_images))
    return best * 1e6


def _opencv_peer(crops: np.ndarray):
    """A callable running the .tflite in OpenCV DNN on one crop, or None if unsupported."""
    try:
        import cv2

        try:  # the importer logs its refusal at ERROR level; the fallback is expected
            old = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        except AttributeError:
            old = None
        try:
            net = cv2.dnn.readNetFromTFLite(str(SIM_MODEL))
        finally:
            if old is not None:
                cv2.utils.logging.setLogLevel(old)
        blob = crops[0][None, None].astype(np.float32) / 255.0

        def one():
            net.setInput(blob)
            return net.forward()

        one()
        return one
    except Exception:  # noqa: BLE001 - any import/parse failure means "no peer"
        return None


def _entry(name, value, unit, peer=None, peer_value=None):
    ratio = (value / peer_value) if peer_value else None
    return {"name": name, "value": round(value, 2), "unit": unit, "peer": peer,
            "peer_value": None if peer_value is None else round(peer_value, 2),
            "ratio": None if ratio is None else round(ratio, 3)}


def run() -> list[dict]:
    from empathy.models.real_faces import real_face_crops

    face = real_face_crops("check", variants=False)[0]
    fer = ExpressionModel(threads=1)
    fer_float = ExpressionModel(MODELS_DIR / "expression_fer_float.tflite", threads=1)
    results = [_entry("expression_fer_int8_litert_b1", _best_us_per_image(lambda: fer.predict(face), 1),
                      "us/image", "fer float32 .tflite (same runtime)",
                      _best_us_per_image(lambda: fer_float.predict(face), 1))]
    crops, _, _ = render_dataset(32, seed=5)
    model = ExpressionModel(SIM_MODEL, threads=1)
    one = crops[0]
    b1 = _best_us_per_image(lambda: model.predict(one), 1)
    peer_fn = _opencv_peer(crops)
    peer_us = _best_us_per_image(peer_fn, 1) if peer_fn is not None else None
    results += [_entry("expression_int8_litert_b1", b1, "us/image",
                      "opencv-dnn (same .tflite)" if peer_us is not None else None, peer_us)]
    b32 = _best_us_per_image(lambda: model.predict_batch(crops), len(crops))
    results.append(_entry("expression_int8_litert_b32", b32, "us/image",
                          "ai-edge-litert batch 1", b1))
    return results


def main() -> int:
    for r in run():
        print(f"{r['name']:32s} {r['value']:>10} {r['unit']:9s} peer={r['peer']} "
              f"peer_value={r['peer_value']} ratio={r['ratio']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
