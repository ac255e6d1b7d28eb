#!/usr/bin/env python3
"""The fault campaign's table (docs/FAULTS.md), from the campaign `trn sim faults` wrote and
the results `trn eval` wrote of it:

    python3 scripts/fault_table.py CAMPAIGN RESULTS

For each fault, over the frames it touched: fixes, the fixes outside 3 sigma on any axis (and
the largest error in sigmas), why the others have no fix, and healthy rangefinder readings
flagged `fault`. Over the frames it did not touch: fixes outside 3 sigma and rangefinder false
alarms (a fault that latches something shows there). Standard library only.
"""
import csv
import json
import sys
from collections import Counter
from pathlib import Path


def num(s):
    return float(s) if s not in ("", None) else None


def frame_stats(rows, truth):
    """(frames, fixes, outside 3 sigma, largest error in sigmas, reasons, healthy LRF flagged)."""
    fixes = outside = flagged = 0
    worst = 0.0
    reasons = Counter()
    for r in rows:
        t = truth[r["frame"]]
        if t["lrf_fault"] == "0" and r["lrf_status"] == "fault":
            flagged += 1
        if r["status"] != "fix":
            reasons[r.get("reason") or r["status"]] += 1
            continue
        fixes += 1
        if t["true_x_m"] == "":
            continue
        z = 0.0
        for a in "xyz":
            e = num(r[f"{a}_m"]) - num(t[f"true_{a}_m"])
            s = num(r[f"sigma_{a}_m"])
            z = max(z, abs(e) / s if s else float("inf"))
        worst = max(worst, z)
        outside += z > 3.0
    return len(rows), fixes, outside, worst, reasons, flagged


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    camp, res = Path(sys.argv[1]), Path(sys.argv[2])
    names = json.load(open(camp / "campaign.json"))["datasets"]
    print("| fault | frames faulted | fixes | outside 3σ (largest) | no fix: reason | healthy LRF flagged | clean frames: fixes, outside 3σ, LRF false alarms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        faults = json.load(open(camp / name / "faults.json"))
        touched = {str(f) for f in faults["frames"]}
        truth = {r["frame"]: r for r in csv.DictReader(open(camp / name / "frames.csv"))}
        rows = list(csv.DictReader(open(res / name / "results.csv")))
        hit = [r for r in rows if r["frame"] in touched]
        clean = [r for r in rows if r["frame"] not in touched]
        n, fixes, outside, worst, reasons, flagged = frame_stats(hit, truth)
        cn, cfixes, coutside, _, _, cflagged = frame_stats(clean, truth)
        why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "-"
        clean_cell = f"{cfixes}/{cn}, {coutside}, {cflagged}" if cn else "-"
        print(
            f"| {name} | {n} | {fixes} | {outside} ({worst:.1f}) | {why} | {flagged} | {clean_cell} |"
        )


if __name__ == "__main__":
    main()
