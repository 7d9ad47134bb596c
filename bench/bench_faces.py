"""The real FER model reading the simulator's rendered faces: shaded against flat drawings.

700 faces (100 per class, intensity 0.6-1, neutral at 0) from seed 3, a seed the shading
was not chosen on (seeds 1-2 were; see `sim/faces.py: render_face(shaded=...)`). Figures:
top-1 accuracy and the correlation of the model's circumplex valence and arousal with the
drawn class's, shaded faces against the flat ones the sim model was trained on.
"""

from __future__ import annotations

import numpy as np

from empathy.edge.expression import CIRCUMPLEX, ExpressionModel
from empathy.sim.faces import EXPRESSIONS, NEUTRAL, render_face

SEED, N = 3, 700


def _fig(name, value, unit, peer=None, peer_value=None):
    return {"name": name, "value": float(value), "unit": unit, "peer": peer,
            "peer_value": None if peer_value is None else float(peer_value),
            "ratio": None if peer_value is None else float(value) / float(peer_value)}


def _read(model, shaded: bool) -> dict:
    rng = np.random.default_rng(SEED)
    y = np.arange(N) % len(EXPRESSIONS)
    rng.shuffle(y)
    k = np.where(y == NEUTRAL, 0.0, rng.uniform(0.6, 1.0, N))
    probs = model.predict_batch([render_face(int(c), float(i), rng, shaded=shaded)
                                 for c, i in zip(y, k)])
    va, truth = probs @ CIRCUMPLEX, CIRCUMPLEX[y]
    return {"top1": float(np.mean(probs.argmax(1) == y)),
            "valence r": float(np.corrcoef(va[:, 0], truth[:, 0])[0, 1]),
            "arousal r": float(np.corrcoef(va[:, 1], truth[:, 1])[0, 1])}


def run() -> list[dict]:
    model = ExpressionModel()
    shaded, flat = _read(model, True), _read(model, False)
    return [_fig(f"FER on shaded rendered faces, {k}", v, "", "flat drawings", flat[k])
            for k, v in shaded.items()]
