"""Copy MediaPipe's face models out of the ``mediapipe==0.10.18`` wheel (dev-only).

0.10.18 is the last wheel that bundles the legacy solution models. Nothing is trained or
converted: the files are taken byte for byte and their SHA-256 checked, so the shipped
files are provably MediaPipe's (Apache-2.0). Run from any Python with pip::

    python3 models/build_mediapipe.py        # pip download + extract; no install

Files (see models/face_detection.md, face_landmark.md, iris_landmark.md):
  face_detection_short_range.tflite  BlazeFace, 128x128 RGB -> 896 anchors x (16 box/keypoint
                                     regressors, 1 score)
  face_landmark.tflite               192x192 RGB -> 468 x (x, y, z) + face presence score
  iris_landmark.tflite               64x64 RGB eye crop -> 71 eye contour + 5 iris points
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHEEL = "mediapipe==0.10.18"
FILES = {
    "mediapipe/modules/face_detection/face_detection_short_range.tflite":
        "face_detection_short_range.tflite",
    "mediapipe/modules/face_landmark/face_landmark.tflite": "face_landmark.tflite",
    "mediapipe/modules/iris_landmark/iris_landmark.tflite": "iris_landmark.tflite",
}
SHA256 = {
    "face_detection_short_range.tflite":
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_landmark.tflite":
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "iris_landmark.tflite":
        "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        # Any platform's wheel carries the same model files; take the one pip picks here.
        subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-q",
                        "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("mediapipe-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            for member, name in FILES.items():
                data = z.read(member)
                digest = hashlib.sha256(data).hexdigest()
                if digest != SHA256[name]:
                    print(f"{name}: sha256 {digest} != expected {SHA256[name]}", file=sys.stderr)
                    return 1
                (HERE / name).write_bytes(data)
                print(f"{name:36s} {len(data):>9} bytes  sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
