"""One small wrapper around a TFLite interpreter, as the edge unit runs models.

Runtime choice: ``ai_edge_litert.interpreter.Interpreter`` (LiteRT, the maintained
successor of TFLite) is preferred; ``tflite_runtime.interpreter.Interpreter`` is the
fallback for boards that only have the old wheel (note: tflite-runtime wheels are built
against numpy 1 and break next to numpy 2, so the project venv does not carry it).

Both runtimes apply the XNNPACK CPU delegate by default for float and int8 graphs, so no
delegate needs to be named for the CPU path; ``threads`` sets ``num_threads`` (used by
XNNPACK and the builtin kernels).

Quantisation is handled here: :meth:`TFLiteModel.run` takes and returns float32. A
quantised input is quantised with the input tensor's scale / zero point (rounded, clipped to
the dtype's range); a quantised output is dequantised with the output tensor's parameters.
Float models pass straight through.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np


class ModelError(RuntimeError):
    """A model could not be loaded or run (no runtime, missing or corrupt file, bad input)."""


def _interpreter_class():
    """(Interpreter class, load_delegate function, runtime name); ModelError if none."""
    try:
        from ai_edge_litert.interpreter import Interpreter, load_delegate

        return Interpreter, load_delegate, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter, load_delegate  # type: ignore

        return Interpreter, load_delegate, "tflite-runtime"
    except ImportError:
        pass
    raise ModelError("no TFLite runtime installed: pip install ai-edge-litert "
                     "(or tflite-runtime on boards without a LiteRT wheel)")


class TFLiteModel:
    """A single-input TFLite model with one or more outputs (``run`` gives the first,
    ``run_all`` every output in the model's order).

    ``path``      the .tflite file.
    ``threads``   interpreter ``num_threads``.
    ``delegate``  optional path of a delegate shared library (e.g. ``libedgetpu.so.1`` for a
                  Coral Edge TPU, with a model compiled by ``edgetpu_compiler``), loaded with
                  ``load_delegate``. Planned, unverified here: no such hardware in CI.

    A TFLite interpreter is not thread-safe; ``run`` holds a per-model lock, so one model
    may be shared between threads (calls are serialised; use one model per thread for
    parallelism).

    Attributes: ``path``, ``runtime_name`` ("ai-edge-litert" | "tflite-runtime"),
    ``input_shape`` (tuple, batch first), ``input_dtype``, ``output_dtype``,
    ``output_shape``.
    """

    def __init__(self, path: str | Path, threads: int = 1, delegate: str | None = None):
        self.path = Path(path)
        Interpreter, load_delegate, self.runtime_name = _interpreter_class()
        from empathy.edge.model_check import check_model

        problem = check_model(self.path)
        if problem:
            raise ModelError(f"cannot load model {self.path}: {problem}")
        delegates = None
        if delegate is not None:
            try:
                delegates = [load_delegate(delegate)]
            except (ValueError, OSError, RuntimeError) as exc:
                raise ModelError(f"cannot load delegate {delegate!r}: {exc}") from exc
        try:
            self._interp = Interpreter(model_path=str(self.path), num_threads=int(threads),
                                       experimental_delegates=delegates)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {self.path}: {exc}") from exc
        ins = self._interp.get_input_details()
        outs = self._interp.get_output_details()
        if len(ins) != 1 or not outs:
            raise ModelError(f"{self.path}: expected 1 input and at least 1 output, "
                             f"got {len(ins)} and {len(outs)}")
        self._in, self._out, self._outs = ins[0], outs[0], outs
        self.input_shape = tuple(int(d) for d in self._in["shape"])
        self.output_shape = tuple(int(d) for d in self._out["shape"])
        self.input_dtype = np.dtype(self._in["dtype"])
        self.output_dtype = np.dtype(self._out["dtype"])
        sig = self._in.get("shape_signature")
        self._dynamic_batch = sig is not None and len(sig) > 0 and int(sig[0]) == -1
        self._batch = self.input_shape[0]
        self.threads = int(threads)
        self.delegate = delegate
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"TFLiteModel({self.path.name!r}, runtime={self.runtime_name}, "
                f"in={self.input_shape}/{self.input_dtype}, out={self.output_dtype})")

    @property
    def quantized(self) -> bool:
        return self.input_dtype.kind in "iu"

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        if not self.quantized:
            return x.astype(self.input_dtype, copy=False)
        scale, zero = self._in["quantization"]
        if scale == 0:
            raise ModelError(f"{self.path}: integer input without quantisation parameters")
        info = np.iinfo(self.input_dtype)
        q = np.round(x / np.float32(scale)) + zero
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

    @staticmethod
    def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
        if np.dtype(detail["dtype"]).kind not in "iu":
            return y.astype(np.float32)
        scale, zero = detail["quantization"]
        return ((y.astype(np.float32) - np.float32(zero)) * np.float32(scale)).astype(np.float32)

    def _resize(self, n: int) -> None:
        if n == self._batch:
            return
        shape = [n, *self.input_shape[1:]]
        self._interp.resize_tensor_input(self._in["index"], shape)
        self._interp.allocate_tensors()
        self._batch = n

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run on float32 input shaped like ``input_shape`` (any batch size); float32 out
        (the first output).

        A batch other than the model's is run in one call when the model's batch dimension
        is dynamic, else one sample at a time.
        """
        return self.run_all(x)[0]

    def run_all(self, x: np.ndarray) -> list[np.ndarray]:
        """Like ``run``, returning every output (float32) in the model's output order."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != self.input_shape[1:]:
            raise ModelError(f"input shape {x.shape} does not match model {self.input_shape}")
        n = x.shape[0]
        if n == 0:
            return [np.zeros((0, *o["shape"][1:]), np.float32) for o in self._outs]
        if n != self._batch and not self._dynamic_batch:
            parts = [self.run_all(x[i:i + 1]) for i in range(n)]
            return [np.concatenate(p) for p in zip(*parts)]
        q = self._quantize(x)
        with self._lock:
            self._resize(n)
            self._interp.set_tensor(self._in["index"], q)
            self._interp.invoke()
            ys = [self._interp.get_tensor(o["index"]) for o in self._outs]
        return [self._dequantize(y, o) for y, o in zip(ys, self._outs)]
