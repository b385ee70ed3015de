"""mahalanobis.ml on scikit-learn's bundled data sets, next to scikit-learn's own estimators.

    python benchmarks/bench_ml.py [--quick]

Accuracy figures are cross-validated (5-fold stratified, fixed seed); the speed figure is a
median of repeated runs in this one process. Writes benchmarks/results/ml.md.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
from _common import machine_line, median_time, write_result
from sklearn.cluster import KMeans
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import mahalanobis as mh
from mahalanobis.ml import (
    MahalanobisClassifier,
    MahalanobisKernel,
    MahalanobisKMeans,
    MahalanobisOOD,
    MahalanobisWhitener,
    ood_metrics,
)

DATA = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
        "digits": load_digits}
CV = StratifiedKFold(5, shuffle=True, random_state=0)


def shrunk():
    """Estimator for data with constant columns (digits): Ledoit-Wolf when it is in the tree,
    otherwise a scale-free ridge S + 1e-3 diag(S) (constant columns get 1e-3 x the mean
    variance), named in the output."""
    if "ledoit_wolf" in mh.available_methods():
        return "ledoit_wolf", "ledoit_wolf"

    def ridge(X):
        S = np.cov(X.T)
        d = np.diag(S).copy()
        d[d == 0] = d.mean()
        return mh.Metric(X.mean(axis=0), S + 1e-3 * np.diag(d))
    return ridge, "ridge S + 1e-3 diag(S); ledoit_wolf not yet in tree"


def cv_score(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return f"{cross_val_score(est, X, y, cv=CV, error_score='raise').mean():.4f}"
        except Exception as exc:  # report, do not hide
            return f"fails ({type(exc).__name__})"


def classifier_table():
    est, est_name = shrunk()
    rows = ["| data (n x p) | pooled (empirical) | LDA | per-class (empirical) | QDA | "
            f"QDA reg 1e-3 | pooled ({est_name}) | per-class ({est_name}) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, load in DATA.items():
        X, y = load(return_X_y=True)
        r = [cv_score(MahalanobisClassifier(), X, y),
             cv_score(LinearDiscriminantAnalysis(), X, y),
             cv_score(MahalanobisClassifier(covariance="per_class"), X, y),
             cv_score(QuadraticDiscriminantAnalysis(), X, y),
             cv_score(QuadraticDiscriminantAnalysis(reg_param=1e-3), X, y),
             cv_score(MahalanobisClassifier(method=est), X, y),
             cv_score(MahalanobisClassifier(covariance="per_class", method=est), X, y)]
        rows.append(f"| {name} ({X.shape[0]} x {X.shape[1]}) | " + " | ".join(r) + " |")
    return "\n".join(rows)


def knn_section(quick):
    X, y = load_digits(return_X_y=True)
    est, est_name = shrunk()
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    tr, te = idx[:1400], idx[1400:]
    w = MahalanobisWhitener(method=est).fit(X[tr])
    VI = np.linalg.inv(w.metric_.cov)
    out = []
    for algorithm in ("brute", "auto"):
        ref = KNeighborsClassifier(5, metric="mahalanobis", metric_params={"VI": VI},
                                   algorithm=algorithm)
        pipe = make_pipeline(MahalanobisWhitener(method=est), KNeighborsClassifier(5))

        def run_ref(ref=ref):
            ref.fit(X[tr], y[tr])
            return ref.kneighbors(X[te])

        def run_pipe(pipe=pipe):
            pipe.fit(X[tr], y[tr])
            return pipe[-1].kneighbors(pipe[0].transform(X[te]))

        (d_ref, i_ref), (d_w, i_w) = run_ref(), run_pipe()
        same = float(np.mean(i_ref == i_w))
        rep = 3 if quick else 5
        t_ref = median_time(run_ref, repeat=rep)
        t_pipe = median_time(run_pipe, repeat=rep)
        acc_ref = float(np.mean(ref.predict(X[te]) == y[te]))
        acc_pipe = float(np.mean(pipe.predict(X[te]) == y[te]))
        out.append(f"| KNeighborsClassifier(metric='mahalanobis', algorithm='{algorithm}') | "
                   f"{t_ref * 1e3:.1f} ms | {t_pipe * 1e3:.1f} ms | {t_ref / t_pipe:.1f}x | "
                   f"{same:.4f} | {np.max(np.abs(d_ref - d_w)):.1e} | {acc_ref:.4f} / "
                   f"{acc_pipe:.4f} |")
    head = ("Digits, all p = 64 pixels (3 are constant, so the covariance is regularised: "
            f"{est_name}); 1400 training rows, 397 queries, k = 5; time = fit + kneighbors "
            "of the queries, the whitener pipeline against scikit-learn's Mahalanobis metric "
            "with VI = inverse of the same covariance. The whitener pipeline (KNN on its "
            "default algorithm) is timed again on each row; the spread between its two "
            "times is the timing noise of this shared machine.\n\n"
            "| reference | reference time | whitener + KNN | speed-up | same neighbours | "
            "max abs diff of distances | accuracy ref / ours |\n|---|---|---|---|---|---|---|")
    return head + "\n" + "\n".join(out)


def ood_section():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    X, y = X[idx] / 16.0, y[idx]
    ind = y < 8
    Xin, yin, Xout = X[ind], y[ind], X[~ind]
    ntr = 1000
    mlp = MLPClassifier((64,), max_iter=300, random_state=0).fit(Xin[:ntr], yin[:ntr])

    def hidden(A):
        return np.maximum(A @ mlp.coefs_[0] + mlp.intercepts_[0], 0.0)

    pca = PCA(30, random_state=0).fit(Xin[:ntr])
    rows = ["| features | method | AUROC | FPR at 95% TPR |", "|---|---|---|---|"]
    for fname, F in [("MLP hidden layer (64 ReLU)", hidden), ("PCA(30)", pca.transform)]:
        for mname, det in [("Lee et al. 2018", MahalanobisOOD(normalize=False)),
                           ("Mahalanobis++", MahalanobisOOD()),
                           ("relative (Ren et al. 2021)",
                            MahalanobisOOD(normalize=False, relative=True)),
                           ("relative + l2-normalised",
                            MahalanobisOOD(relative=True))]:
            det.fit(F(Xin[:ntr]), yin[:ntr])
            r = ood_metrics(det.score_samples(F(Xin[ntr:])), det.score_samples(F(Xout)))
            rows.append(f"| {fname} | {mname} | {r.auroc:.4f} | {r.fpr_at_95_tpr:.4f} |")
    acc = float(np.mean(mlp.predict(Xin[ntr:]) == yin[ntr:]))
    head = ("Digits 0-7 in distribution (1000 training rows, "
            f"{len(Xin) - ntr} held-out test rows), digits 8 and 9 out of distribution "
            f"({len(Xout)} rows). MLP test accuracy on 0-7: {acc:.4f}.\n\n")
    return head + "\n".join(rows)


def clusters(kind, seed, n=150):
    rng = np.random.default_rng(seed)
    if kind == "parallel":
        base = rng.standard_normal((3 * n, 2)) * [6.0, 0.5]
        return base + np.repeat([[0, 0], [0, 3], [0, 6]], n, axis=0), np.repeat([0, 1, 2], n)
    out, ys = [], []
    for k, (th, c) in enumerate([(0.0, [0, 0]), (1.2, [6, 6]), (2.2, [12, 0])]):
        R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        out.append((rng.standard_normal((n, 2)) * [4.0, 0.5]) @ R.T + c)
        ys.append(np.full(n, k))
    return np.vstack(out), np.concatenate(ys)


def kmeans_section(quick):
    seeds = range(3 if quick else 10)
    rows = ["| clusters | KMeans | MahalanobisKMeans shared | MahalanobisKMeans per_cluster |",
            "|---|---|---|---|"]
    for kind in ("parallel", "rotated"):
        res = {"km": [], "sh": [], "pc": []}
        for s in seeds:
            X, y = clusters(kind, s)
            res["km"].append(adjusted_rand_score(y, KMeans(3, n_init=10, random_state=s)
                                                 .fit_predict(X)))
            res["sh"].append(adjusted_rand_score(y, MahalanobisKMeans(
                3, covariance="shared", random_state=s).fit_predict(X)))
            res["pc"].append(adjusted_rand_score(y, MahalanobisKMeans(
                3, random_state=s).fit_predict(X)))
        cells = [f"{np.mean(v):.3f} (min {np.min(v):.3f})" for v in res.values()]
        rows.append(f"| {kind} | " + " | ".join(cells) + " |")
    head = (f"Adjusted Rand index, mean (min) over {len(seeds)} seeds; three Gaussian clusters "
            "of 150 points with axis ratio 8-12: 'parallel' = same orientation, stacked "
            "across their short axis; 'rotated' = three different orientations.\n\n")
    return head + "\n".join(rows)


def svm_section():
    rows = ["| data | RBF SVC (standardised, gamma='scale') | Mahalanobis-kernel SVC "
            "(gamma = 1/p) |", "|---|---|---|"]
    est, est_name = shrunk()
    for name in ("iris", "wine", "breast_cancer", "digits"):
        X, y = DATA[name](return_X_y=True)
        e = est if name == "digits" else "empirical"
        rbf = cv_score(make_pipeline(StandardScaler(), SVC()), X, y)
        mk = cv_score(SVC(kernel=MahalanobisKernel(gamma=1.0 / X.shape[1], method=e)
                          .fit(X)), X, y)
        rows.append(f"| {name} | {rbf} | {mk} |")
    return ("5-fold CV accuracy, C = 1. The kernel's covariance is estimated once on all rows "
            f"(unsupervised, like the scaler); digits uses {est_name}.\n\n" + "\n".join(rows))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    import sklearn
    parts = [
        "## mahalanobis.ml\n",
        machine_line() + f", scikit-learn {sklearn.__version__}\n",
        "### MahalanobisClassifier vs LDA / QDA (5-fold CV accuracy)\n",
        "Pooled = LDA-like, per-class = QDA-like. 'fails' is an exception in some fold (a "
        "singular within-class covariance: digits has constant pixels).\n",
        classifier_table(),
        "\n### MahalanobisWhitener + KNeighborsClassifier vs metric='mahalanobis'\n",
        knn_section(args.quick),
        "\n### Out-of-distribution detection: Mahalanobis++ vs Lee et al.\n",
        ood_section(),
        "\n### MahalanobisKMeans vs KMeans on elongated clusters\n",
        kmeans_section(args.quick),
        "\n### Mahalanobis-kernel SVM vs RBF SVM\n",
        svm_section(),
    ]
    text = "\n".join(parts)
    if args.quick:
        print(text)
    else:
        print(write_result("ml", text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
