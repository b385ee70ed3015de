"""Mahalanobis++ OOD scores of float32 embeddings through NumPy and through the Array API.

    python benchmarks/bench_arrayapi.py [--quick | --full]

Scores n x 256 float32 embeddings (n = 2.5e5; 1e6 with --full, 5e4 with --quick) of K = 10
classes with ``MahalanobisOOD`` (Mahalanobis++: l2-normalised features, class means, one
shared covariance) fitted once on 50 000 rows, and times ``score_samples``:

- NumPy: float32 arrays in; the NumPy path validates them to float64 (scikit-learn's check).
- PyTorch (CPU, and CUDA when a GPU is visible) and JAX (CPU): the same estimator fitted on
  tensors; scores stay float32 on the device.
- A plain-PyTorch baseline with the structure of pytorch-ood's ``Mahalanobis`` detector
  (``predict_features``): an explicit inverse of the shared covariance and one quadratic form
  per class, K GEMMs of n x p x p, in float32, written here. pytorch-ood itself (0.4.0) cannot
  be imported on this machine: its package imports torchvision, whose PyPI wheels need a CUDA
  build of torch; alibi-detect's ``Mahalanobis`` is an online, unsupervised detector without
  class-conditional means, so it does not compute this score.

Accuracy is the largest relative difference of the scores from a float64 NumPy computation.
Writes benchmarks/results/arrayapi.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

import numpy as np
from _common import machine_line, median_time, write_result

from mahalanobis.ml import MahalanobisOOD

P, K, N_FIT = 256, 10, 50_000


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((K, P)).astype(np.float32)
    # embeddings with a low-rank common structure plus noise, like a network's features
    basis = rng.standard_normal((32, P)).astype(np.float32) / 4

    def draw(m: int, s: int) -> tuple[np.ndarray, np.ndarray]:
        r = np.random.default_rng(s)
        y = r.integers(0, K, m)
        X = means[y] + r.standard_normal((m, 32)).astype(np.float32) @ basis
        X += r.standard_normal((m, P), dtype=np.float32)
        return X, y

    X_fit, y_fit = draw(N_FIT, seed + 1)
    X, _ = draw(n, seed + 2)
    return X_fit, y_fit, X


def baseline_scores(torch, mu, precision, Z):
    """-max_c of -(z - mu_c)^T P (z - mu_c) / 2 with an explicit precision P, one quadratic
    form per class (the structure of pytorch-ood's Mahalanobis.predict_features)."""
    per_class = []
    for c in range(mu.shape[0]):
        d = Z - mu[c]
        per_class.append((-0.5 * ((d @ precision) * d).sum(dim=1))[:, None])
    return -torch.cat(per_class, 1).max(dim=1).values


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true", help="1e6 rows (about two minutes more)")
    args = ap.parse_args(argv)
    n = 50_000 if args.quick else 1_000_000 if args.full else 250_000
    X_fit, y_fit, X = make_data(n)
    repeat = 3 if args.quick else 5

    ref_model = MahalanobisOOD().fit(X_fit.astype(float), y_fit)
    exact = ref_model.score_samples(X.astype(float))

    def rel_err(s) -> float:
        return float(np.max(np.abs(np.asarray(s, dtype=float) - exact) / np.abs(exact)))

    rows = []
    model = MahalanobisOOD().fit(X_fit, y_fit)
    t_np = median_time(lambda: model.score_samples(X), repeat=repeat)
    rows.append(("NumPy (float32 in, float64 compute)", "cpu", t_np,
                 rel_err(model.score_samples(X))))

    have_torch = importlib.util.find_spec("torch") is not None
    gpu = None
    if have_torch:
        import torch
        torch.set_num_threads(2)
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for dev in devices:
            Xt = torch.as_tensor(X, device=dev)
            tm = MahalanobisOOD().fit(torch.as_tensor(X_fit, device=dev),
                                      torch.as_tensor(y_fit, device=dev))
            sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

            def ours(tm=tm, Xt=Xt, sync=sync):
                out = tm.score_samples(Xt)
                sync()
                return out

            t = median_time(ours, repeat=repeat)
            rows.append((f"mahalanobis on torch ({dev}, float32)", dev, t,
                         rel_err(ours().cpu().numpy())))
            # the baseline: explicit precision, one quadratic form per class, on the same
            # normalised features and the same class means / covariance (ridge included)
            mu = torch.as_tensor(np.asarray(ref_model.means_, dtype=np.float32), device=dev)
            prec = torch.linalg.inv(torch.as_tensor(np.array(ref_model.covariance_),
                                                    device=dev)).float()

            def theirs(mu=mu, prec=prec, Xt=Xt, sync=sync):
                Z = Xt / Xt.norm(dim=1, keepdim=True)
                out = baseline_scores(torch, mu, prec, Z)
                sync()
                return out

            t_b = median_time(theirs, repeat=repeat)
            # pytorch-ood's score is -max_c(-D_c^2 / 2) = min_c D_c^2 / 2: twice it is -ours
            rows.append(("per-class quadratic forms, explicit inverse (pytorch-ood's "
                         f"structure), torch ({dev})", dev, t_b,
                         rel_err(-2.0 * theirs().cpu().numpy())))
            if dev == "cuda":
                gpu = torch.cuda.get_device_name(0)
    if importlib.util.find_spec("jax") is not None:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", False)
        Xj = jnp.asarray(X)
        jm = MahalanobisOOD().fit(jnp.asarray(X_fit), jnp.asarray(y_fit))

        def ours_jax():
            return jm.score_samples(Xj).block_until_ready()

        t = median_time(ours_jax, repeat=repeat, warmup=2)
        rows.append(("mahalanobis on JAX (cpu, float32; fit in float32: no x64)", "cpu", t,
                     rel_err(np.asarray(ours_jax()))))

    lines = ["## Array API: Mahalanobis++ scores of float32 embeddings", "",
             machine_line() + (f", torch {__import__('torch').__version__}" if have_torch
                               else ", torch not installed")
             + (f", GPU {gpu}" if gpu else ", no GPU visible (the GPU rows appear when one is)"),
             "",
             f"`MahalanobisOOD().score_samples` of {n:,} x {P} float32 embeddings, {K} "
             f"classes, fitted on {N_FIT:,} rows (median of {repeat}). Ratio: the NumPy "
             "path's time over the row's. Max rel. error: against float64 NumPy scores.", "",
             "| path | device | time | vs NumPy | max rel. error |", "|---|---|---|---|---|"]
    for name, dev, t, err in rows:
        lines.append(f"| {name} | {dev} | {t * 1e3:.0f} ms | {t_np / t:.2f}x | {err:.1e} |")
    if not have_torch:
        lines.append("")
        lines.append("PyTorch is not installed: `make test-torch` installs its CPU wheel.")
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        write_result("arrayapi", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
