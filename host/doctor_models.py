"""`empathy doctor`'s look at the models, with edge/model_check.py's own checks.

Without a config: every model the install ships (models/SHA256SUMS) is there and is the
file shipped (its SHA-256: a bad install or a Pi's SD card cut one short or flipped its
bytes, and a flipped weight still loads, giving wrong faces), then loads with the runtime.
With an edge config: what the unit itself checks at its start (`face_model_problems`: the
expression model the config names, the face tracker's models where a seat has a face
camera), so a bad `expression_model` is said here rather than by the unit's failed start,
and every broken model at once where the unit names the first.
"""

from __future__ import annotations

from empathy.edge import model_check
from empathy.host.doctor import Finding

RUNTIME_FIX = "pip install ai-edge-litert (tflite-runtime on boards without a LiteRT wheel)"


def check_models() -> list[Finding]:
    from empathy.edge.infer import ModelError, TFLiteModel, _interpreter_class

    sums = model_check.SUMS
    ships = model_check.shipped()  # sha256 -> name
    if not ships:
        return [Finding("models", "fail", f"{sums} is missing or empty: the install's list "
                        "of its models", model_check.REINSTALL)]
    try:
        runtime = _interpreter_class()[2]
    except ModelError as e:
        runtime, out = None, [Finding("tflite", "fail", str(e).partition(":")[0], RUNTIME_FIX)]
    else:
        out = []
    for name in sorted(ships.values()):
        path, item = sums.parent / name, f"model:{name}"
        why = model_check.shipped_problem(path)
        if why:
            out.append(Finding(item, "fail", f"{path}: {why}", model_check.REINSTALL))
            continue
        if runtime is None:
            out.append(Finding(item, "ok", f"{path} as shipped (not loaded: no runtime)"))
            continue
        try:
            TFLiteModel(path)
            out.append(Finding(item, "ok", f"as shipped, loads with {runtime}"))
        except (ModelError, ValueError, RuntimeError) as e:
            out.append(Finding(item, "fail", str(e), f"this runtime cannot run it: {RUNTIME_FIX}"))
    return out


def check_face_models(cfg) -> list[Finding]:
    """The unit's start check of its face models, as findings: one a broken model."""
    model, problems = model_check.face_model_problems(cfg)
    if problems:
        return [Finding("face models", "fail", str(e), e.hint) for e in problems]
    said = [f"expression model {model.model.path} loads with {model.runtime_name}"] \
        if model else []
    if any("frame" in model_check.face_readings(s.source) for s in cfg.seats if not s.opt_out):
        said.append("the face tracker's models are the shipped files")
    return [Finding("face models", "ok", "; ".join(said))] if said else []
