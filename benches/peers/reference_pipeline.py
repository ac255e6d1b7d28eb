#!/usr/bin/env python3
"""A reference TRN pipeline built from OpenCV, run on the same dataset and map as trn.

Usage (from the repository root, peers installed per requirements.txt):

    cargo run --release -p trn-cli -- eval data/default-descent --out /tmp/trn-eval \\
        --save-map /tmp/trn-eval/map.trnmap
    python3 benches/peers/reference_pipeline.py data/default-descent /tmp/trn-eval

Per frame, with the frame's prior pose and sigma from frames.csv and the landmarks of the
map database trn built (identical inputs):
  1. project every landmark with cv2.projectPoints; keep those in the image, choose the
     template level whose pixel is closest to the frame's ground sample distance;
  2. warp the frame onto the landmark's tangent plane with cv2.warpPerspective (the plane
     homography from four projected plane points), a window of the template plus a
     3-sigma search radius, and find the template with cv2.matchTemplate (TM_CCOEFF_NORMED,
     score >= 0.6), sub-pixel by a parabola through the peak;
  3. cv2.solvePnPRansac (SQPnP, 2-pixel threshold scaled like trn's) and
     cv2.solvePnPRefineLM on the inliers.
No coarse stage, no orthorectification on the DEM, no prior correction between frames:
this is the straightforward OpenCV pipeline. Time per frame is wall time of steps 1-3 on
one thread (cv2.setNumThreads(1)); frame decoding is excluded, as in trn's latency.
Prints a table and, with --json, the numbers.
"""

import argparse
import csv
import json
import math
import struct
import sys
import time
from pathlib import Path

import cv2
import numpy as np


def read_trnmap(path):
    b = Path(path).read_bytes()
    if b[:8] != b"TRNMAP\n\0":
        sys.exit(f"{path}: not a trnmap file")
    n = struct.unpack_from("<I", b, 12)[0]
    sections = {}
    for i in range(n):
        kind, _crc, off, ln, _ = struct.unpack_from("<IIQQQ", b, 32 + 32 * i)
        sections[kind] = (off, ln)
    off, _ = sections[4]
    count, side, levels, _ = struct.unpack_from("<IIII", b, off)
    rec = 48 + side * side * levels * 4
    lms = []
    for i in range(count):
        p = off + 16 + i * rec
        lid = struct.unpack_from("<I", b, p)[0]
        pos = np.array(struct.unpack_from("<ddd", b, p + 8))
        nrm = np.array(struct.unpack_from("<fff", b, p + 32), dtype=np.float64)
        scale = struct.unpack_from("<f", b, p + 44)[0]
        tpl = np.frombuffer(b, "<f4", side * side * levels, p + 48).reshape(levels, side, side)
        lms.append((lid, pos, nrm, scale, tpl))
    return lms, side, levels


def quat_to_mat(w, x, y, z):
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def plane_point(p, n, s, dj, di):
    dx, dy = dj * s, -di * s
    dz = -(n[0] * dx + n[1] * dy) / n[2] if abs(n[2]) > 1e-6 else 0.0
    return p + np.array([dx, dy, dz])


def subpixel(res, i, j):
    def fit(a, b, c):
        d = a - 2 * b + c
        return 0.0 if d >= 0 else 0.5 * (a - c) / d

    di = fit(res[i - 1, j], res[i, j], res[i + 1, j]) if 0 < i < res.shape[0] - 1 else 0.0
    dj = fit(res[i, j - 1], res[i, j], res[i, j + 1]) if 0 < j < res.shape[1] - 1 else 0.0
    return di, dj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("evaldir", help="directory with trn's map.trnmap (trn eval --save-map)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    ds = Path(a.dataset)
    meta = json.loads((ds / "dataset.json").read_text())
    cam = meta["camera"]
    K = np.array([[cam["fx"], 0, cam["cx"]], [0, cam["fy"], cam["cy"]], [0, 0, 1.0]])
    d = cam["distortion"]
    dist = np.array([d["k1"], d["k2"], d["p1"], d["p2"], d["k3"]])
    f = 0.5 * (cam["fx"] + cam["fy"])
    lms, side, levels = read_trnmap(Path(a.evaldir) / "map.trnmap")
    half = side // 2
    P = np.array([l[1] for l in lms])
    rows = list(csv.DictReader(open(ds / "frames.csv")))
    out = []
    for r in rows:
        img = cv2.imread(str(ds / r["image"]), cv2.IMREAD_UNCHANGED).astype(np.float32)
        pyr = [img]
        for _ in range(5):
            pyr.append(cv2.pyrDown(pyr[-1]))
        C = np.array([float(r[f"prior_{k}_m"]) for k in "xyz"])
        Rcs = quat_to_mat(*[float(r[f"prior_q{k}"]) for k in "wxyz"])  # camera to site
        Rsc = Rcs.T
        sig_p = float(r["prior_sigma_pos_m"])
        sig_a = math.radians(float(r["prior_sigma_att_deg"]))
        t0 = time.perf_counter()
        rvec, _ = cv2.Rodrigues(Rsc)
        tvec = -Rsc @ C
        pc = (Rsc @ (P - C).T).T
        uv, _ = cv2.projectPoints(P, rvec, tvec, K, dist)
        uv = uv.reshape(-1, 2)
        world, obs, ratios = [], [], []
        w, h = cam["width"], cam["height"]
        for k, (lid, pos, nrm, s0, tpl) in enumerate(lms):
            if pc[k, 2] <= 1:
                continue
            u, v = uv[k]
            rng = np.linalg.norm(C - pos)
            facing = nrm @ (C - pos) / rng
            if facing < 0.3:
                continue
            gsd = rng / f * (np.linalg.norm(pc[k]) / pc[k, 2]) / max(facing, 0.2)
            lvl = int(np.argmin([abs(math.log(gsd / (s0 * 2**L))) for L in range(levels)]))
            s = s0 * 2**lvl
            if abs(math.log(gsd / s)) > math.log(1.6) and not (lvl == 0 and gsd < s0):
                continue
            rad = int(math.ceil(3 * f * (sig_p / rng + sig_a) * gsd / s))
            rad = max(3, min(rad, 48))
            room = min(u, v, w - 1 - u, h - 1 - v) - 2
            fits = math.floor(room / (s / gsd) - half)
            if fits < 3:
                continue
            rad = min(rad, fits)
            wside = side + 2 * rad
            off = half + rad
            # Plane (window pixel) -> frame level-k pixel homography from four points.
            kk = 0
            while kk + 1 < len(pyr) and gsd * 2 ** (kk + 1) <= s * 1.0001:
                kk += 1
            src = np.array([[0, 0], [wside - 1, 0], [0, wside - 1], [wside - 1, wside - 1]], np.float32)
            pts = np.array([plane_point(pos, nrm, s, x - off, y - off) for x, y in src])
            puv, _ = cv2.projectPoints(pts, rvec, tvec, K, dist)
            dst = (puv.reshape(-1, 2) / 2**kk).astype(np.float32)
            H = cv2.getPerspectiveTransform(src, dst)
            win = cv2.warpPerspective(
                pyr[kk], H, (wside, wside), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            )
            res = cv2.matchTemplate(win, np.ascontiguousarray(tpl[lvl], np.float32), cv2.TM_CCOEFF_NORMED)
            _, mx, _, loc = cv2.minMaxLoc(res)
            if mx < 0.6:
                continue
            j, i = loc
            di, dj = subpixel(res, i, j)
            sj, si = j + dj - rad, i + di - rad
            q = plane_point(pos, nrm, s, sj, si)
            quv, _ = cv2.projectPoints(q.reshape(1, 3), rvec, tvec, K, dist)
            world.append(pos)
            obs.append(quv.reshape(2))
            ratios.append(s / gsd)
        status, err = "no_fix", None
        if len(world) >= 6:
            W = np.array(world, np.float64)
            O = np.array(obs, np.float64)
            thr = 2.0 * max(1.0, float(np.median(ratios)))
            ok, rv, tv, inl = cv2.solvePnPRansac(
                W, O, K, dist, rvec.copy(), tvec.copy(), useExtrinsicGuess=True,
                iterationsCount=1000, reprojectionError=thr, confidence=0.9999,
                flags=cv2.SOLVEPNP_SQPNP,
            )
            if ok and inl is not None and len(inl) >= 10:
                idx = inl.reshape(-1)
                rv, tv = cv2.solvePnPRefineLM(W[idx], O[idx], K, dist, rv, tv)
                R, _ = cv2.Rodrigues(rv)
                Cest = -R.T @ tv.reshape(3)
                status = "fix"
                if r["true_x_m"]:
                    T = np.array([float(r[f"true_{k}_m"]) for k in "xyz"])
                    err = float(np.linalg.norm(Cest - T))
        ms = (time.perf_counter() - t0) * 1e3
        out.append({"frame": int(r["frame"]), "status": status, "err": err, "ms": ms,
                    "matched": len(world), "alt": float(r["true_z_m"] or "nan")})
    fixes = [o for o in out if o["status"] == "fix"]
    errs = sorted(o["err"] for o in fixes if o["err"] is not None)
    q = lambda v, p: v[min(len(v) - 1, int(round((len(v) - 1) * p)))] if v else float("nan")
    ms = sorted(o["ms"] for o in out)
    summary = {
        "frames": len(out), "fixes": len(fixes),
        "pos_err_m": {"median": q(errs, 0.5), "p95": q(errs, 0.95), "p99": q(errs, 0.99), "max": q(errs, 1.0)},
        "latency_ms": {"median": q(ms, 0.5), "p95": q(ms, 0.95), "max": q(ms, 1.0)},
        "opencv": cv2.__version__,
    }
    if a.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"OpenCV {cv2.__version__} reference: {len(fixes)}/{len(out)} fixes, "
              f"position error median {summary['pos_err_m']['median']:.2f} m, p99 {summary['pos_err_m']['p99']:.2f} m, "
              f"latency median {summary['latency_ms']['median']:.1f} ms, p95 {summary['latency_ms']['p95']:.1f} ms (1 thread)")


if __name__ == "__main__":
    main()
