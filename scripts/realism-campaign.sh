#!/usr/bin/env bash
# The realism campaign of docs/REALISM.md: the same dispersed descents without realism,
# with every knob dispersed (--realism), and with each knob alone (--realism-knob), each
# evaluated by trn eval; then the table of docs/REALISM.md ("Results").
#   bash scripts/realism-campaign.sh [OUT_DIR] [N_ALL] [N_KNOB]
# OUT_DIR defaults to target/realism; N_ALL (default 40) descents for the plain and the
# whole-realism campaigns, N_KNOB (default 20, at most N_ALL) for each knob alone. TRN
# names the trn binary (default: built by cargo in release). Descents: 16 frames of
# 384 x 384 px over an 8 km site on a 10 m grid (the map pixel of the table), ~9 s each to
# generate on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/realism}"
n_all="${2:-40}"
n_knob="${3:-20}"
if [ -n "${TRN:-}" ]; then
  trn() { "$TRN" "$@"; }
else
  cargo build --release -q -p trn-cli
  trn() { target/release/trn "$@"; }
fi
albedo=../shared/data/reader_tests/isis3/M143947267L.cal.echo.crop.cub
knobs=(prior registration ortho-sun photometry dem defects)
if [ -f "$albedo" ]; then
  knobs+=(albedo)
  # An LRO NAC crop in camera geometry (~0.5 m/px): its pixel size is stated.
  with_albedo=(--albedo "$albedo" --albedo-pixel-m 0.5)
else
  echo "albedo knob skipped: $albedo not found" >&2
  with_albedo=()
fi
common=(--seed 11 --frames 16 --image-px 384 --size-m 8000 --gsd-m 10)
mkdir -p "$out"
run() {
  local name="$1" n="$2"
  shift 2
  if [ ! -f "$out/$name/eval/summary.json" ]; then
    rm -rf "$out/$name"
    echo "== $name: $n descents" >&2
    trn sim campaign --n "$n" "${common[@]}" "$@" -o "$out/$name/data" > /dev/null
    trn eval "$out/$name/data" --out "$out/$name/eval" > /dev/null
  fi
}
run plain "$n_all"
run realism "$n_all" --realism "${with_albedo[@]}"
for k in "${knobs[@]}"; do
  run "knob-$k" "$n_knob" --realism-knob "$k" "${with_albedo[@]}"
done
# The plain campaign's first N_KNOB descents: the sites, suns, trajectories and priors of
# the knob campaigns without their knob (links to the plain campaign's files).
first="plain-first$n_knob"
rm -rf "${out:?}/$first"
mkdir -p "$out/$first/data" "$out/$first/eval"
for ((i = 0; i < n_knob && i < n_all; i++)); do
  d=$(printf 'descent-%03d' "$i")
  ln -s "$(cd "$out/plain/data/$d" && pwd)" "$out/$first/data/$d"
  ln -s "$(cd "$out/plain/eval/$d" && pwd)" "$out/$first/eval/$d"
done
python3 scripts/realism_table.py "$out" plain "$first" realism "${knobs[@]/#/knob-}"
