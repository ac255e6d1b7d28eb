#!/usr/bin/env bash
# Regenerates the shipped default descent bit for bit:
#   bash data/regenerate.sh                 # into data/default-descent (and data/SHA256SUMS)
#   bash data/regenerate.sh OUT_DIR         # somewhere else (the test does this)
# TRN names the trn binary to use (default: built by cargo in release).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-data/default-descent}"
if [ -n "${TRN:-}" ]; then
  trn() { "$TRN" "$@"; }
else
  cargo build --release -q -p trn-cli
  trn() { target/release/trn "$@"; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A 20 km x 20 km south-polar site: a DEM at 10 m, an orthoimage of the central 2 km at
# 1 m (as landing sites are mapped), sun 12 degrees high from the south-east.
trn sim site --seed 1 --lat-deg -85.3 --lon-deg 31.2 --size-m 20000 --gsd-m 10 \
  --ortho-gsd-m 1 --ortho-size-m 2000 \
  --projection polar --sun-az-deg 135 --sun-el-deg 12 -o "$work/site" --json > /dev/null
rm -rf "$out"
# 60 frames from 15 km to 50 m, 512 x 512 px with a 45 degree field of view; a rangefinder
# that reads below 6 km, stuck, biased, silent and spurious in turn on the way down.
trn sim descent --site "$work/site" --seed 1 --name default-site-descent --frames 60 \
  --image-px 512 --fov-deg 45 --lrf-max-alt-m 6000 \
  --lrf-fault stuck@26-28 --lrf-fault bias:25@31-32 --lrf-fault dropout@35-36 \
  --lrf-fault spurious:0.5@39 -o "$out" --json > /dev/null
if [ -z "${1:-}" ]; then
  (cd "$out" && find . -type f | LC_ALL=C sort | xargs sha256sum) > data/SHA256SUMS
fi
echo "wrote $out"
