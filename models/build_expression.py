"""Rebuild models/expression_sim_int8.tflite (dev-only; never imported at run time).

Trains a small CNN on faces drawn by ``sim/faces.py`` and converts it to a
full-integer int8 TFLite model (int8 input and output; representative data from the same
renderer). Needs TensorFlow, which the project venv deliberately does not carry; use a
separate one::

    python3 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu opencv-python-headless numpy
    /tmp/tfenv/bin/python models/build_expression.py            # writes the .tflite

The renderer is loaded straight from its file (no install of the project needed). Prints
float and int8 top-1 accuracy and float/int8 agreement on a held-out rendered set; the
numbers go into models/expression_sim.md.

Model contract (what edge/expression.py relies on):
  input  int8 [N, 48, 48, 1], real value = grey / 255 (scale 1/255, zero point -128)
  output int8 [N, 7] logits in empathy.wire.EXPRESSIONS order (softmax is applied on the
         host side of the interpreter, in float)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from empathy.cli import number_in

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "expression_sim_int8.tflite"

SEED = 20240611
N_TRAIN = 42_000
N_VAL = 3_500
N_TEST = 7_000
N_CALIB = 500
TEST_SEED = 777  # tests/test_models.py renders its own set with a different seed


def _load_renderer():
    spec = importlib.util.spec_from_file_location("face_render", ROOT / "sim" / "faces.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_model(tf):
    keras = tf.keras
    x = inp = keras.Input(shape=(48, 48, 1), name="face")
    for filters in (16, 32, 48):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, padding="same", use_bias=False)(x)   # 6x6
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D()(x)                                   # 3x3
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    out = keras.layers.Dense(7, name="logits")(x)
    return keras.Model(inp, out, name="expression_sim")


def train(tf, model, xtr, ytr, xva, yva, epochs: int) -> None:
    steps = int(np.ceil(len(xtr) / 128)) * epochs
    sched = tf.keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.02)
    model.compile(optimizer=tf.keras.optimizers.Adam(sched),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(xtr, ytr, batch_size=128, epochs=epochs, validation_data=(xva, yva), verbose=2)
    print(f"trained in {time.perf_counter() - t0:.1f}s")


def run_tflite(tf, blob: bytes, images: np.ndarray) -> np.ndarray:
    interp = tf.lite.Interpreter(model_content=blob)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    interp.resize_tensor_input(inp["index"], [len(images), 48, 48, 1])
    interp.allocate_tensors()
    s, z = inp["quantization"]
    q = np.clip(np.round(images[..., None].astype(np.float32) / 255.0 / s + z), -128, 127)
    interp.set_tensor(inp["index"], q.astype(np.int8))
    interp.invoke()
    so, zo = out["quantization"]
    return (interp.get_tensor(out["index"]).astype(np.float32) - zo) * so


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--epochs", type=number_in(int, 1, 1000), default=8)
    ap.add_argument("--reuse", type=Path, default=None,
                    help="a .keras file: load it instead of training if it exists, "
                         "else save the trained model there")
    ap.add_argument("--n-train", type=number_in(int, 1, 1_000_000), default=N_TRAIN)
    args = ap.parse_args(argv)

    import tensorflow as tf

    tf.keras.utils.set_random_seed(SEED)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - best effort
        pass
    fr = _load_renderer()

    t0 = time.perf_counter()
    xtr, ytr, _ = fr.render_dataset(args.n_train, seed=SEED)
    xva, yva, _ = fr.render_dataset(N_VAL, seed=SEED + 1)
    xte, yte, ite = fr.render_dataset(N_TEST, seed=TEST_SEED)
    xcal, _, _ = fr.render_dataset(N_CALIB, seed=SEED + 2)
    print(f"rendered {len(xtr) + len(xva) + len(xte) + len(xcal)} faces in "
          f"{time.perf_counter() - t0:.1f}s")

    def prep(x):
        return (x[..., None].astype(np.float32) / 255.0)

    if args.reuse is not None and args.reuse.exists():
        model = tf.keras.models.load_model(args.reuse)
        print(f"reusing trained model {args.reuse}")
    else:
        model = build_model(tf)
        train(tf, model, prep(xtr), ytr, prep(xva), yva, args.epochs)
        if args.reuse is not None:
            model.save(args.reuse)
    print(f"params: {model.count_params()}")

    # -- full-integer conversion ----------------------------------------------------
    # (from_keras_model: a hand-made concrete function keeps resource variables, which the
    # int8 calibrator cannot read under Keras 3)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative():
        for i in range(len(xcal)):
            yield [prep(xcal[i:i + 1])]

    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    blob = conv.convert()
    args.out.write_bytes(blob)
    print(f"wrote {args.out} ({len(blob)} bytes)")

    # -- held-out evaluation ----------------------------------------------------------
    pf = model.predict(prep(xte), batch_size=512, verbose=0).argmax(1)
    pq = run_tflite(tf, blob, xte).argmax(1)
    print(f"held-out n={len(xte)} (seed {TEST_SEED}, intensity U(0.2,1), neutral 0)")
    print(f"  float top-1 {np.mean(pf == yte):.4f}")
    print(f"  int8  top-1 {np.mean(pq == yte):.4f}")
    print(f"  agreement   {np.mean(pf == pq):.4f}")
    for lo, hi in ((0.2, 0.4), (0.4, 0.7), (0.7, 1.01)):
        m = (ite >= lo) & (ite < hi) & (yte != fr.NEUTRAL)
        print(f"  int8 top-1 intensity [{lo:.1f},{min(hi, 1.0):.1f}]: {np.mean(pq[m] == yte[m]):.4f}")
    for c, name in enumerate(fr.EXPRESSIONS):
        m = yte == c
        print(f"  int8 recall {name:9s} {np.mean(pq[m] == c):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
