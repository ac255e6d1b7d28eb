"""The table of docs/REALISM.md from the campaigns scripts/realism-campaign.sh evaluated.

Every figure is recomputed from each descent's frames.csv and results.csv (DATASET.md):
availability over frames with the sun at 5 deg or more, median and p99 position error below
10 km in map pixels (10 m), fixes outside 3 sigma in position (any axis) and in attitude
(attitude error above 3 times sigma_att_deg), and the rangefinder figures.
"""

import csv
import sys
from pathlib import Path

MAP_PX_M = 10.0


def quantile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, round((len(v) - 1) * q))]


def campaign(root):
    frames = fixes = outside_pos = outside_att = 0
    errors = []
    lrf = dict(faults=0, flagged=0, missed=0, false_alarms=0, held_good=0)
    data = root / "data"
    for ds in sorted(p for p in data.iterdir() if (p / "frames.csv").is_file()):
        truth = list(csv.DictReader(open(ds / "frames.csv")))
        rows = list(csv.DictReader(open(root / "eval" / ds.name / "results.csv")))
        if len(truth) != len(rows):
            sys.exit(f"{ds}: {len(truth)} frames, {len(rows)} results")
        for t, r in zip(truth, rows):
            if float(t["sun_el_deg"]) >= 5.0:
                frames += 1
                fixes += r["status"] == "fix"
            if r["status"] == "fix" and r["pos_err_m"]:
                err = [float(r[k]) - float(t["true_" + k]) for k in ("x_m", "y_m", "z_m")]
                sig = [float(r["sigma_" + k]) for k in ("x_m", "y_m", "z_m")]
                outside_pos += any(abs(e) > 3 * s for e, s in zip(err, sig))
                outside_att += float(r["att_err_deg"]) > 3 * float(r["sigma_att_deg"])
                if float(t["true_z_m"]) < 10_000:
                    errors.append(float(r["pos_err_m"]) / MAP_PX_M)
            fault = t["lrf_fault"]
            if fault == "1":
                lrf["faults"] += 1
                lrf["flagged" if r["lrf_status"] in ("fault", "held") else "missed"] += 1
            elif fault == "0":
                lrf["false_alarms"] += r["lrf_status"] == "fault"
                lrf["held_good"] += r["lrf_status"] == "held"
    return frames, fixes, errors, outside_pos, outside_att, lrf


def main():
    out = Path(sys.argv[1])
    print("| campaign | descents | availability (sun >= 5 deg) | median / p99 below 10 km, map px | outside 3 sigma: position / attitude | rangefinder: faulty, flagged, missed, false alarms, good held |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in sys.argv[2:]:
        root = out / name
        if not (root / "eval").is_dir():
            continue
        n = sum(1 for p in (root / "data").iterdir() if (p / "frames.csv").is_file())
        frames, fixes, errors, op, oa, l = campaign(root)
        avail = f"{fixes}/{frames} ({100 * fixes / max(frames, 1):.1f} %)"
        err = f"{quantile(errors, 0.5):.2f} / {quantile(errors, 0.99):.2f} ({len(errors)} fixes)"
        rf = f"{l['faults']}, {l['flagged']}, {l['missed']}, {l['false_alarms']}, {l['held_good']}"
        print(f"| {name} | {n} | {avail} | {err} | {op} / {oa} of {fixes} | {rf} |")


main()
