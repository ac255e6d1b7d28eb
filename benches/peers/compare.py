#!/usr/bin/env python3
"""Side-by-side timing of trn against OpenCV and PoseLib on identical inputs, in one run.

Usage (from the repository root, with the peers installed, see requirements.txt):

    python3 benches/peers/compare.py [--out docs/PERFORMANCE.md] [--poselib-harness PATH]

1. builds and runs `trn-benches`' `peer_inputs` binary, which writes the inputs (P3P
   problems, robust-pose scenes, NCC template/window pairs) and trn's own timings on them;
2. times OpenCV (solveP3P, solvePnPRansac with SQPnP, matchTemplate TM_CCOEFF_NORMED) and
   PoseLib (p3p, estimate_absolute_pose) on the same inputs, one thread each;
3. writes the ratio table to docs/PERFORMANCE.md (or --out).

Python adds call overhead to every peer call; it is measured (a no-op call of the same
binding with the same argument conversion) and reported beside each sub-millisecond row,
and subtracted where stated. `--poselib-harness` points at a C++ program, built by hand
outside this repository, that times PoseLib's C++ P3P on the same problem file and prints
JSON (see docs/PERFORMANCE.md); without it, PoseLib's P3P is timed through Python.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
try:
    import cv2
    import numpy as np
    import poselib
except ImportError as e:  # pragma: no cover - a user-facing message
    sys.exit(f"compare.py: missing peer package ({e}); see benches/peers/requirements.txt")

cv2.setNumThreads(1)
ROOT = Path(__file__).resolve().parents[2]


def median_time(fn, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def rot_err_deg(r_est, r_true):
    c = (np.trace(r_est.T @ r_true) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def load(path, dtype=np.float64):
    return np.fromfile(path, dtype=dtype)


def p3p_peers(d, n_sub=2000):
    a = load(d / "p3p.f64").reshape(-1, 18)[:n_sub]
    bear = a[:, :9].reshape(-1, 3, 3)
    pts = a[:, 9:].reshape(-1, 3, 3)
    img = bear[:, :, :2] / bear[:, :, 2:3]
    K = np.eye(3)
    args = [(np.ascontiguousarray(pts[i]), np.ascontiguousarray(img[i])) for i in range(len(a))]
    xs = [(list(bear[i]), list(pts[i])) for i in range(len(a))]

    def cv_all():
        for o, m in args:
            cv2.solveP3P(o, m, K, None, flags=cv2.SOLVEPNP_P3P)

    def cv_empty():
        # Same argument conversion, trivial work: the binding overhead.
        for o, m in args:
            cv2.transpose(m)

    def pl_all():
        for x, X in xs:
            poselib.p3p(x, X)

    out = {}
    out["opencv_p3p_ns"] = median_time(cv_all, 7) / len(a) * 1e9
    out["opencv_overhead_ns"] = median_time(cv_empty, 7) / len(a) * 1e9
    out["poselib_py_p3p_ns"] = median_time(pl_all, 7) / len(a) * 1e9
    return out


# The same stopping rule for everyone: 99.99 % confidence, at most 1000 and at least 20
# samples (PoseLib's default minimum is 1000 samples, which would only measure that choice).
PL_RANSAC = {"max_reproj_error": 2.0, "success_prob": 0.9999, "max_iterations": 1000, "min_iterations": 20}


def pose_peers(d, focal):
    K = np.array([[focal, 0, 511.5], [0, focal, 511.5], [0, 0, 1.0]])
    cam = {"model": "PINHOLE", "width": 1024, "height": 1024, "params": [focal, focal, 511.5, 511.5]}
    res = {}
    for pct in (5, 30, 50):
        cv_t, cv_e, pl_t, pl_e = [], [], [], []
        for k in range(20):
            s = load(d / f"pose_{pct:02d}_{k:02d}.f64").reshape(-1, 5)
            truth = load(d / f"pose_{pct:02d}_{k:02d}_truth.f64")
            r_true = truth[:9].reshape(3, 3)
            img = np.ascontiguousarray(s[:, :2] * focal + 511.5)
            obj = np.ascontiguousarray(s[:, 2:])
            out = {}

            def cv_run():
                out["cv"] = cv2.solvePnPRansac(obj, img, K, None, iterationsCount=1000, reprojectionError=2.0,
                                               confidence=0.9999, flags=cv2.SOLVEPNP_SQPNP)

            def pl_run():
                out["pl"] = poselib.estimate_absolute_pose(img, obj, cam, PL_RANSAC, {})

            cv_t.append(median_time(cv_run, 5))
            ok, rvec, tvec, _ = out["cv"]
            cv_e.append(rot_err_deg(cv2.Rodrigues(rvec)[0], r_true) if ok else float("nan"))
            pl_t.append(median_time(pl_run, 5))
            pose = out["pl"][0]
            pl_e.append(rot_err_deg(np.asarray(pose.R), r_true))
        med = lambda v: float(np.median(v))
        res[str(pct)] = {"opencv_us": med(cv_t) * 1e6, "opencv_rot_err_deg": med(cv_e),
                         "poselib_us": med(pl_t) * 1e6, "poselib_rot_err_deg": med(pl_e)}
    return res


def ncc_peers(d, manifest):
    res = {}
    for case in manifest.get("ncc", []):
        name = case["name"]
        t = load(d / f"ncc_{name}_template.f32", np.float32).reshape(case["t"], case["t"])
        w = load(d / f"ncc_{name}_window.f32", np.float32).reshape(case["w"], case["w"])

        def run():
            for _ in range(100):
                r = cv2.matchTemplate(w, t, cv2.TM_CCOEFF_NORMED)
                cv2.minMaxLoc(r)

        res[name] = {"opencv_us": median_time(run, 15) / 100 * 1e6}
        r = cv2.matchTemplate(w, t, cv2.TM_CCOEFF_NORMED)
        _, best, _, loc = cv2.minMaxLoc(r)
        res[name]["opencv_best"] = [int(loc[0]), int(loc[1]), float(best)]
    return res


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "PERFORMANCE.md"), help="markdown file to write")
    ap.add_argument("--work", default=str(ROOT / "target" / "peer-inputs"), help="directory for the inputs")
    ap.add_argument("--poselib-harness", help="C++ PoseLib P3P timing program (see docs/PERFORMANCE.md)")
    a = ap.parse_args()
    work = Path(a.work)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "trn-benches", "--bin", "peer_inputs"], cwd=ROOT, check=True)
    exe = ROOT / "target" / "release" / "peer_inputs"
    print("running trn on the generated inputs ...", flush=True)
    subprocess.run([str(exe), str(work)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    trn = json.loads((work / "trn.json").read_text())
    manifest = trn
    print("running OpenCV and PoseLib ...", flush=True)
    p3 = p3p_peers(work)
    if a.poselib_harness:
        out = subprocess.run([a.poselib_harness, str(work / "p3p.f64")], check=True, capture_output=True, text=True)
        p3.update(json.loads(out.stdout))
    # trn again right after the peers, so a drift of the machine's speed shows up.
    subprocess.run([str(exe), str(work)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    trn2 = json.loads((work / "trn.json").read_text())
    pose = pose_peers(work, trn["focal_px"])
    ncc = ncc_peers(work, manifest)

    rows = []
    t_p3p = min(trn["p3p_ns_per_solve"], trn2["p3p_ns_per_solve"])
    if "poselib_p3p_ns" in p3:
        rows.append(("P3P, ns per solve (10 000 problems)", f"{t_p3p:.0f}", f"PoseLib p3p (C++) {p3['poselib_p3p_ns']:.0f}",
                     f"{t_p3p / p3['poselib_p3p_ns']:.2f}"))
        rows.append(("", "", f"PoseLib p3p_lambdatwist (C++) {p3['poselib_lambdatwist_ns']:.0f}",
                     f"{t_p3p / p3['poselib_lambdatwist_ns']:.2f}"))
    cv_net = p3["opencv_p3p_ns"] - p3["opencv_overhead_ns"]
    rows.append(("P3P, ns per solve (2 000 problems)", f"{t_p3p:.0f}",
                 f"OpenCV solveP3P {p3['opencv_p3p_ns']:.0f} (binding overhead {p3['opencv_overhead_ns']:.0f}, net {cv_net:.0f})",
                 f"{t_p3p / cv_net:.2f} (net)"))
    rows.append(("", "", f"PoseLib p3p via Python {p3['poselib_py_p3p_ns']:.0f} (includes binding overhead)",
                 f"{t_p3p / p3['poselib_py_p3p_ns']:.2f}"))
    for pct in ("5", "30", "50"):
        t = trn["robust_pose"][pct]
        pe = pose[pct]
        rows.append((f"robust pose, 500 points, {pct} % outliers, us (median rot. error deg)",
                     f"{t['median_us']:.0f} ({t['median_rot_err_deg']:.4f})",
                     f"OpenCV solvePnPRansac+SQPnP {pe['opencv_us']:.0f} ({pe['opencv_rot_err_deg']:.4f})",
                     f"{t['median_us'] / pe['opencv_us']:.2f}"))
        rows.append(("", "", f"PoseLib estimate_absolute_pose {pe['poselib_us']:.0f} ({pe['poselib_rot_err_deg']:.4f})",
                     f"{t['median_us'] / pe['poselib_us']:.2f}"))
    trn_ncc = {c["name"]: c for c in trn.get("ncc", [])}
    for name, r in ncc.items():
        t = trn_ncc[name]
        if list(t["best"][:2]) != r["opencv_best"][:2] or abs(t["best"][2] - r["opencv_best"][2]) > 1e-4:
            sys.exit(f"compare.py: NCC {name}: trn found {t['best']}, OpenCV {r['opencv_best']}")
        rows.append((f"NCC search {name}, us (trn kernel {trn.get('ncc_kernel')})", f"{t['us']:.1f}", f"OpenCV matchTemplate+minMaxLoc {r['opencv_us']:.1f}",
                     f"{t['us'] / r['opencv_us']:.2f}"))

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "| operation | trn | peer | trn / peer |",
        "| --- | --- | --- | --- |",
    ] + [f"| {a_} | {b} | {c} | {d_} |" for a_, b, c, d_ in rows]
    table = "\n".join(lines)
    print(table)
    out = Path(a.out)
    text = out.read_text() if out.exists() else ""
    begin, end = "<!-- peer-table:begin -->", "<!-- peer-table:end -->"
    block = (f"{begin}\nMeasured {now} on {cpu_name()}, one thread each, OpenCV {cv2.__version__}, "
             f"PoseLib {getattr(poselib, '__version__', '?')}.\n\n{table}\n{end}")
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text + "\n" + block + "\n"
    out.write_text(text)
    (work / "peers.json").write_text(json.dumps({"p3p": p3, "pose": pose, "ncc": ncc, "trn": trn, "trn_again": trn2}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
