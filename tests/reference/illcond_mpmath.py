#!/usr/bin/env python
"""High-precision reference data for ill-conditioned Mahalanobis distances.

Run from the repository root:

    python tests/reference/illcond_mpmath.py              # writes tests/reference/data/illcond.json
    python tests/reference/illcond_mpmath.py --accuracy   # also prints float64 accuracy table (needs scipy)

What is generated
-----------------
For target condition numbers 1e4, 1e6, 1e8, 1e10, 1e12 and p in {3, 10, 30},
two kinds of covariance matrix S:

* ``rotated``: S = Q diag(lam) Q^T with Q a seeded random orthogonal matrix
  and lam log-spaced from 1 down to 1/target_cond; symmetrised in float64
  as (S + S.T) / 2.
* ``scaled``: S = D R D with R a seeded, well-conditioned correlation matrix
  (cond(R) ~ 10) and D = diag(s), s log-spaced (then randomly permuted) with
  the spread chosen by bisection so that the float64 condition number of S
  is ~ target_cond ("variables in wildly different units").

For each S: a centre m and 50 points X (all float64): rows 0..24 are
N(m, S) draws (float64, via eigendecomposition of S); rows 25..49 are the
"hard" case, m + a small random combination dominated by the eigenvectors of
the smallest ~p/3 eigenvalues (other directions weighted by 1e-2).

THE FLOAT64 VALUES STORED IN THE JSON ARE THE GROUND TRUTH. Every float64
(cov, center, X) is converted exactly with mpmath.mpf(float) and

    d2 = (x - m)^T S^{-1} (x - m)

is computed in mpmath with mp.dps = 60 (no reduction to 40 was needed: the
whole script runs in well under 2 minutes), by an mpmath Cholesky
factorisation S = L L^T, forward substitution y = L^{-1}(x - m) and
d2 = sum(y_i^2). As a self-check, every d2 is recomputed from the mp.eigsy
eigendecomposition (d2 = sum (e_i^T v)^2 / lam_i) and the script aborts if
the two disagree beyond 1e-40 relative.

Stored per case: d2 (correctly rounded to float64), d2_str (30 significant
digits), log_det (ln det S = 2 sum ln L_ii, rounded to float64) and cond
(exact 2-norm condition number lam_max / lam_min from mp.eigsy, rounded to
float64). JSON floats are written by Python's json module (shortest
round-trip repr) so they load back bit-exactly.

Determinism: all randomness comes from numpy.random.default_rng with fixed
per-case seeds. The float64 inputs also pass through LAPACK (qr / eigh), so a
regeneration on a different BLAS/LAPACK may produce matrices that differ in
the last bits; the committed JSON, not this script, is the reference. The
mpmath part is exact-input and platform independent.
"""

import json
import os
import sys
import time

import numpy as np
from mpmath import libmp, mp

MP_DPS = 60
TARGET_CONDS = [1e4, 1e6, 1e8, 1e10, 1e12]
PS = [3, 10, 30]
KINDS = ["rotated", "scaled"]
N_RANDOM = 25
N_HARD = 25
GENERATOR = "tests/reference/illcond_mpmath.py"
OUT = os.path.join("tests", "reference", "data", "illcond.json")


# ---------------------------------------------------------------------------
# float64 generation
# ---------------------------------------------------------------------------

def case_seed(kind, p, target_cond):
    k = KINDS.index(kind)
    return 20240000 + 1000 * k + 10 * p + int(round(np.log10(target_cond)))


def random_orthogonal(rng, p):
    a = rng.standard_normal((p, p))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))  # Haar measure
    return q


def make_rotated(rng, p, target_cond):
    q = random_orthogonal(rng, p)
    lam = np.logspace(0.0, -np.log10(target_cond), p)
    s = (q * lam) @ q.T
    return (s + s.T) / 2.0


def make_correlation(rng, p, cond_r=10.0):
    q = random_orthogonal(rng, p)
    lam = np.logspace(0.0, -np.log10(cond_r), p)
    a = (q * lam) @ q.T
    a = (a + a.T) / 2.0
    d = np.sqrt(np.diag(a))
    r = a / np.outer(d, d)
    r = (r + r.T) / 2.0
    np.fill_diagonal(r, 1.0)
    return r


def f64_cond(s):
    w = np.linalg.eigvalsh(s)
    return w[-1] / w[0]


def make_scaled(rng, p, target_cond):
    r = make_correlation(rng, p)
    perm = rng.permutation(p)
    t = np.linspace(0.0, 1.0, p)[perm]

    def build(spread):  # s_i = 10**(-spread * t_i), spread in decades
        s = 10.0 ** (-spread * t)
        m = r * np.outer(s, s)
        return (m + m.T) / 2.0

    # lam_max >= max diag = 1 and lam_min <= min diag = 10**(-2*spread), so
    # cond(DRD) >= 10**(2*spread); also cond(DRD) <= cond(R) * 10**(2*spread).
    # Hence the target is bracketed by [0, log10(target)/2].
    lo, hi = 0.0, 0.5 * np.log10(target_cond)
    assert f64_cond(build(hi)) >= target_cond * (1 - 1e-6)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.log10(f64_cond(build(mid))) < np.log10(target_cond):
            lo = mid
        else:
            hi = mid
    return build(0.5 * (lo + hi)), 10.0 ** (-0.5 * (lo + hi) * t)


def make_points(rng, s, center):
    p = s.shape[0]
    w, v = np.linalg.eigh(s)
    w = np.clip(w, 0.0, None)
    z = rng.standard_normal((N_RANDOM, p))
    x_rand = center + (z * np.sqrt(w)) @ v.T
    k = max(1, p // 3)
    weight = np.full(p, 1e-2)
    weight[:k] = 1.0  # eigh: ascending, so the first k are the smallest
    z = rng.standard_normal((N_HARD, p))
    scale = rng.uniform(0.5, 3.0, size=(N_HARD, 1))
    x_hard = center + (scale * z * weight * np.sqrt(w)) @ v.T
    return np.vstack([x_rand, x_hard])


def make_case(kind, p, target_cond):
    rng = np.random.default_rng(case_seed(kind, p, target_cond))
    if kind == "rotated":
        s = make_rotated(rng, p, target_cond)
        center = rng.normal(0.0, 2.0, size=p)
    else:
        s, scales = make_scaled(rng, p, target_cond)
        center = scales * rng.normal(0.0, 2.0, size=p)
    x = make_points(rng, s, center)
    assert np.array_equal(s, s.T)
    return s, center, x


# ---------------------------------------------------------------------------
# mpmath reference
# ---------------------------------------------------------------------------

def to_f64(x):
    """Correctly rounded (round-to-nearest) float64 of an mpf."""
    return libmp.to_float(mp.mpf(x)._mpf_, rnd=libmp.round_nearest)


def mp_reference(s, center, x):
    p = s.shape[0]
    S = mp.matrix([[mp.mpf(float(s[i, j])) for j in range(p)] for i in range(p)])
    m = [mp.mpf(float(c)) for c in center]
    L = mp.cholesky(S)
    log_det = 2 * mp.fsum(mp.log(L[i, i]) for i in range(p))
    ev, E = mp.eigsy(S)
    ev = [ev[i] for i in range(p)]
    lam_min, lam_max = min(ev), max(ev)
    if lam_min <= 0:
        raise RuntimeError("matrix not positive definite in exact arithmetic")
    cond = lam_max / lam_min
    log_det_eig = mp.fsum(mp.log(e) for e in ev)
    if abs(log_det - log_det_eig) > mp.mpf(10) ** (-40) * max(1, abs(log_det)):
        raise RuntimeError("log det self-check failed")

    d2s = []
    for row in x:
        v = [mp.mpf(float(xi)) - mi for xi, mi in zip(row, m)]  # exact
        y = []
        for i in range(p):
            acc = v[i] - mp.fdot([L[i, j] for j in range(i)], y)
            y.append(acc / L[i, i])
        d2 = mp.fsum(yi * yi for yi in y)
        # independent check through the eigendecomposition
        d2e = mp.fsum(mp.fdot([E[i, k] for i in range(p)], v) ** 2 / ev[k]
                      for k in range(p))
        if abs(d2 - d2e) > mp.mpf(10) ** (-40) * d2:
            raise RuntimeError("d2 self-check failed: %s vs %s" % (d2, d2e))
        d2s.append(d2)
    return d2s, log_det, cond


def main():
    mp.dps = MP_DPS
    t0 = time.time()
    cases = []
    for kind in KINDS:
        for p in PS:
            for tc in TARGET_CONDS:
                s, center, x = make_case(kind, p, tc)
                d2s, log_det, cond = mp_reference(s, center, x)
                cases.append({
                    "kind": kind,
                    "p": p,
                    "target_cond": tc,
                    "cond": to_f64(cond),
                    "cov": [[float(a) for a in row] for row in s],
                    "center": [float(a) for a in center],
                    "X": [[float(a) for a in row] for row in x],
                    "d2": [to_f64(d) for d in d2s],
                    "d2_str": [mp.nstr(d, 30, strip_zeros=False) for d in d2s],
                    "log_det": to_f64(log_det),
                })
                print("%-8s p=%2d target=%.0e cond=%.6e  (%.1fs)"
                      % (kind, p, tc, cases[-1]["cond"], time.time() - t0))
    out = {"cases": cases, "mp_dps": MP_DPS, "generator": GENERATOR}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote %s (%d cases, %.0f kB) in %.1fs"
          % (OUT, len(cases), os.path.getsize(OUT) / 1024, time.time() - t0))
    if "--accuracy" in sys.argv[1:]:
        accuracy_table(OUT)


# ---------------------------------------------------------------------------
# optional: accuracy of plain float64 approaches (information only)
# ---------------------------------------------------------------------------

def accuracy_table(path):
    import scipy.linalg as sl

    with open(path) as f:
        data = json.load(f)

    def approach_a(s, v):
        c = sl.cho_factor(s)
        return np.einsum("ij,ij->i", v, sl.cho_solve(c, v.T).T)

    def approach_b(s, v):
        L = sl.cholesky(s, lower=True)
        y = sl.solve_triangular(L, v.T, lower=True)
        return np.sum(y * y, axis=0)

    def equil(s):
        d = np.sqrt(np.diag(s))
        return d, s / np.outer(d, d)

    def approach_c(s, v):
        d, r = equil(s)
        L = sl.cholesky(r, lower=True)
        y = sl.solve_triangular(L, (v / d).T, lower=True)
        return np.sum(y * y, axis=0)

    def approach_d(s, v, vld):
        d, r = equil(s)
        L = sl.cholesky(r, lower=True)

        def solve(b):  # S^{-1} b via the equilibrated factor, float64
            y = sl.solve_triangular(L, (b / d).T, lower=True)
            return sl.solve_triangular(L.T, y, lower=False).T / d

        w = solve(v).astype(np.longdouble)
        sld = s.astype(np.longdouble)
        res = vld - w @ sld.T                       # r = v - S w in long double
        w = w + solve(res.astype(np.float64)).astype(np.longdouble)
        return np.sum(vld * w, axis=1).astype(np.float64)

    names = ["a", "b", "c", "d"]
    rows = []
    for c in data["cases"]:
        s = np.array(c["cov"])
        m = np.array(c["center"])
        x = np.array(c["X"])
        v = x - m
        vld = x.astype(np.longdouble) - m.astype(np.longdouble)
        ref = [mp.mpf(t) for t in c["d2_str"]]
        res = {
            "a": approach_a(s, v), "b": approach_b(s, v),
            "c": approach_c(s, v), "d": approach_d(s, v, vld),
        }
        errs = {}
        for k in names:
            e = [abs(mp.mpf(float(a)) - r) / r for a, r in zip(res[k], ref)]
            errs[k] = (float(max(e[:N_RANDOM])), float(max(e[N_RANDOM:])))
        rows.append((c["kind"], c["p"], c["target_cond"], c["cond"], errs))

    hdr = ("| kind | p | cond | (a) cho_solve | (b) chol+trsv | "
           "(c) equil | (d) equil+refine |")
    print(hdr)
    print("|---|---|---|---|---|---|---|")
    for kind, p, tc, cond, errs in rows:
        cells = " | ".join("%.1e" % max(errs[k]) for k in names)
        print("| %s | %d | %.0e | %s |" % (kind, p, tc, cells))
    if "--split" in sys.argv[1:]:
        print("\nrandom-draw rows / hard rows, separately:")
        for kind, p, tc, cond, errs in rows:
            cells = " | ".join("%.1e / %.1e" % errs[k] for k in names)
            print("| %s | %d | %.0e | %s |" % (kind, p, tc, cells))
    return rows


if __name__ == "__main__":
    main()
