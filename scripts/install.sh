#!/usr/bin/env bash
# Installs everything Empathy Engine needs on Debian 12 (apt + a venv in .venv), idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
APT_PACKAGES=(
  python3 python3-venv python3-dev gcc pkg-config
  # GStreamer 1.22 + introspection (PyPI has no Linux GStreamer wheels)
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-gl  # GL grading path (GstGL; Mesa llvmpipe runs it headless)
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 libgirepository1.0-dev libcairo2-dev
  # peers for benchmarks (ffmpeg lut3d)
  ffmpeg
  # link and sensors: a real MQTT broker, D-Bus (BlueZ-shaped test bus), pty tools, BlueZ
  mosquitto mosquitto-clients dbus libdbus-1-dev libglib2.0-dev socat bluez
  # dashboard browser tests
  chromium chromium-driver
)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[test,bench]"
# EDA validation corpus: real recordings inside published wheels, fetched once into
# cache/eda-corpus (git-ignored); bench/eda_corpus.py reads them from the archives
mkdir -p cache/eda-corpus
.venv/bin/python -c 'from empathy.bench.eda_corpus import DISTS
for f, r in DISTS.items(): print(f, r)' | while read -r file req; do
  [ -f "cache/eda-corpus/$file" ] || .venv/bin/pip download -q --no-deps -d cache/eda-corpus $req
done
echo "installed: $(.venv/bin/empathy --version)"
