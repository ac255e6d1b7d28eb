"""The table of docs/REALISM.md from the campaigns scripts/realism-campaign.sh evaluated.

Every figure is recomputed from each descent's frames.csv and results.csv (DATASET.md):
availability over frames with the sun at 5 deg or more, median and p99 position error below
10 km in map pixels (10 m), fixes outside 3 sigma in position (any axis) and in attitude
(attitude error above 3 times sigma_att_deg, exceeded 2.9 % of the time by an honest 3-D
Gaussian error whose per-axis sigma is sigma_att_deg, and above 3.76 times it, the 3-D
equivalent of 3 sigma: chi-square with 3 degrees of freedom at 99.73 %), and the rangefinder
figures; then, for campaigns whose descents state a prior model in realism.json,
availability by prior model and band of true height (frames.csv's true_z_m, the site
frame's z).
"""

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

MAP_PX_M = 10.0
# sqrt of the chi-square quantile with 3 degrees of freedom at 99.73 %.
ATT_3D_3SIGMA = 3.76
ALT_BANDS = [(0, 300), (300, 1000), (1000, 3000), (3000, float("inf"))]


def quantile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, round((len(v) - 1) * q))]


def campaign(root):
    frames = fixes = outside_pos = 0
    outside_att = [0, 0]
    by_prior = defaultdict(lambda: [0, 0])
    errors = []
    lrf = dict(faults=0, flagged=0, missed=0, false_alarms=0, held_good=0)
    data = root / "data"
    for ds in sorted(p for p in data.iterdir() if (p / "frames.csv").is_file()):
        truth = list(csv.DictReader(open(ds / "frames.csv")))
        rows = list(csv.DictReader(open(root / "eval" / ds.name / "results.csv")))
        if len(truth) != len(rows):
            sys.exit(f"{ds}: {len(truth)} frames, {len(rows)} results")
        realism = ds / "realism.json"
        # Without realism.json (every knob off), or without a prior in it, the simulator's
        # prior is its default drift.
        prior = "drift"
        if realism.is_file():
            prior = (json.load(open(realism)).get("prior") or {"model": "drift"})["model"]
        for t, r in zip(truth, rows):
            if float(t["sun_el_deg"]) >= 5.0:
                frames += 1
                fixes += r["status"] == "fix"
                if t["true_z_m"]:
                    # Site-frame height: the lowest band takes heights below the site's
                    # reference sphere too.
                    z = float(t["true_z_m"])
                    band = next(b for b in ALT_BANDS if z < b[1])
                    cell = by_prior[(prior, band)]
                    cell[0] += r["status"] == "fix"
                    cell[1] += 1
            if r["status"] == "fix" and r["pos_err_m"]:
                err = [float(r[k]) - float(t["true_" + k]) for k in ("x_m", "y_m", "z_m")]
                sig = [float(r["sigma_" + k]) for k in ("x_m", "y_m", "z_m")]
                outside_pos += any(abs(e) > 3 * s for e, s in zip(err, sig))
                ratio = float(r["att_err_deg"]) / float(r["sigma_att_deg"])
                outside_att[0] += ratio > 3
                outside_att[1] += ratio > ATT_3D_3SIGMA
                if float(t["true_z_m"]) < 10_000:
                    errors.append(float(r["pos_err_m"]) / MAP_PX_M)
            fault = t["lrf_fault"]
            if fault == "1":
                lrf["faults"] += 1
                lrf["flagged" if r["lrf_status"] in ("fault", "held") else "missed"] += 1
            elif fault == "0":
                lrf["false_alarms"] += r["lrf_status"] == "fault"
                lrf["held_good"] += r["lrf_status"] == "held"
    return frames, fixes, errors, outside_pos, outside_att, lrf, by_prior


def main():
    out = Path(sys.argv[1])
    print("| campaign | descents | availability (sun >= 5 deg) | median / p99 below 10 km, map px | outside 3 sigma: position / attitude (angle > 3 sigma, > 3.76 sigma) | rangefinder: faulty, flagged, missed, false alarms, good held |")
    print("| --- | --- | --- | --- | --- | --- |")
    breakdowns = []
    for name in sys.argv[2:]:
        root = out / name
        if not (root / "eval").is_dir():
            continue
        n = sum(1 for p in (root / "data").iterdir() if (p / "frames.csv").is_file())
        frames, fixes, errors, op, oa, l, by_prior = campaign(root)
        if any(m != "drift" for m, _ in by_prior):
            breakdowns.append((name, by_prior))
        avail = f"{fixes}/{frames} ({100 * fixes / max(frames, 1):.1f} %)"
        err = f"{quantile(errors, 0.5):.2f} / {quantile(errors, 0.99):.2f} ({len(errors)} fixes)"
        rf = f"{l['faults']}, {l['flagged']}, {l['missed']}, {l['false_alarms']}, {l['held_good']}"
        print(f"| {name} | {n} | {avail} | {err} | {op} / {oa[0]}, {oa[1]} of {fixes} | {rf} |")
    for name, by_prior in breakdowns:
        models = sorted({m for m, _ in by_prior})
        print()
        print(f"{name}: availability by prior model and true height in the site frame (sun >= 5 deg)")
        print()
        print("| prior | " + " | ".join(f"{lo:.0f}-{hi:.0f} m" if hi != float("inf") else f">= {lo:.0f} m" for lo, hi in ALT_BANDS) + " |")
        print("| --- " * (len(ALT_BANDS) + 1) + "|")
        for m in models:
            cells = []
            for b in ALT_BANDS:
                k, n = by_prior.get((m, b), (0, 0))
                cells.append(f"{k}/{n}" if n else "-")
            print(f"| {m} | " + " | ".join(cells) + " |")


main()
