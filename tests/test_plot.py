"""mahalanobis.plot: each plot draws the expected artists (Agg backend, no pixel comparisons)."""

import matplotlib

matplotlib.use("Agg")

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from scipy import stats

import mahalanobis as mh
from conftest import load_example
from mahalanobis import plot

HAS_MCD = "mcd" in mh.available_methods()


def _has_t2chart():
    try:
        from mahalanobis.control import T2Chart  # noqa: F401
    except ImportError:
        return False
    return True


HAS_CONTROL = _has_t2chart()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture
def data2():
    """60 correlated normal points and 4 planted outliers (rows o0..o3) off the main axis."""
    rng = np.random.default_rng(1)
    X = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=60)
    X = np.vstack([X, [[3, -3], [3.5, -2.5], [-3, 3], [2.5, -3.5]]])
    idx = [f"r{i}" for i in range(60)] + [f"o{i}" for i in range(4)]
    df = pd.DataFrame(X, columns=["u", "v"], index=idx)
    clean = mh.fit(X[:60])   # stands in for a robust fit: the clean rows only
    return df, clean


def _gid_lines(ax, gid):
    return [ln for ln in ax.lines if ln.get_gid() == gid]


def test_tolerance_ellipse_draws_both_ellipses_and_labels_outliers(data2):
    df, clean = data2
    ax = plot.tolerance_ellipse(df, robust=clean, level=0.975)
    (cl,), (rb,) = _gid_lines(ax, "classical"), _gid_lines(ax, "robust")
    cut = stats.chi2.ppf(0.975, 2)
    # every vertex of each drawn curve lies on its ellipse D^2 = chi2_{2, 0.975}
    np.testing.assert_allclose(mh.fit(df.to_numpy()).distance(cl.get_xydata(), squared=True),
                               cut, rtol=1e-9)
    np.testing.assert_allclose(clean.distance(rb.get_xydata(), squared=True), cut, rtol=1e-9)
    labels = {t.get_text() for t in ax.texts}
    assert {"o0", "o1", "o2", "o3"} <= labels
    assert all(lab.startswith(("o", "r")) for lab in labels)
    legend = ax.get_legend_handles_labels()[1]
    assert any("classical 97.5%" in s for s in legend) and any("robust" in s for s in legend)
    assert ax.get_xlabel() == "u" and ax.get_ylabel() == "v"


def test_tolerance_ellipse_classical_only_on_given_axes(data2):
    df, _ = data2
    _, ax = plt.subplots()
    out = plot.tolerance_ellipse(df.to_numpy(), robust=False, ax=ax, labels=list(df.index))
    assert out is ax
    assert len(_gid_lines(ax, "classical")) == 1 and not _gid_lines(ax, "robust")


@pytest.mark.parametrize("kwargs, msg", [
    ({"X": np.zeros((10, 3))}, "ellipse_pairs"),
    ({"classical": False, "robust": False}, "at least one"),
    ({"level": 1.5}, "level"),
    ({"labels": ["a"]}, "labels"),
])
def test_tolerance_ellipse_errors_name_the_argument(data2, kwargs, msg):
    df, clean = data2
    args = {"X": df, "robust": clean, **kwargs}
    with pytest.raises(ValueError, match=msg):
        plot.tolerance_ellipse(args.pop("X"), **args)


@pytest.mark.skipif(not HAS_MCD, reason="mahalanobis.covariance.mcd not importable yet")
def test_tolerance_ellipse_with_real_mcd_on_stars():
    df = load_example("starsCYG")
    ax = plot.tolerance_ellipse(df, random_state=0)
    labels = {t.get_text() for t in ax.texts}
    assert {"10", "19", "29", "33"} <= labels   # the four giants (R rows 11, 20, 30, 34)


def test_ellipse_pairs_grid(data2):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 3))
    X[0] = [6, -6, 6]
    axes = plot.ellipse_pairs(X, robust=mh.fit(X[1:]))
    assert axes.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            gids = sorted(ln.get_gid() for ln in axes[i, j].lines)
            assert gids == ([] if i == j else ["classical", "robust"])
    assert axes[2, 0].get_xlabel() == "x1" and axes[1, 0].get_ylabel() == "x2"
    with pytest.raises(ValueError, match="max_features"):
        plot.ellipse_pairs(rng.standard_normal((50, 9)), robust=False)


def test_qq_plot_has_envelope_line_and_labels(data2):
    df, clean = data2
    d2 = clean.distance(df, squared=True)     # a Series: its index labels the points
    ax = plot.qq_plot(d2, 2, envelope=0.95)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1 and "95% simultaneous envelope" in ax.get_legend_handles_labels()[1]
    assert _gid_lines(ax, "identity")
    assert {"o0", "o1", "o2", "o3"} <= {t.get_text() for t in ax.texts}
    assert "chi-squared(2)" in ax.get_xlabel()


def test_qq_plot_without_envelope_and_beta_reference():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3))
    d2 = mh.fit(X).distance(X, squared=True)
    ax = plot.qq_plot(d2, 3, envelope=None, reference="beta")
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert "Beta" in ax.get_xlabel()
    # classical distances of a sample to its own fit are bounded by (n-1)^2/n: all x inside
    x = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    assert x.max() < 39 ** 2 / 40
    with pytest.raises(ValueError, match="p must be"):
        plot.qq_plot(d2, 0)
    with pytest.raises(ValueError, match="1-D"):
        plot.qq_plot(np.ones((3, 2)), 2)


def test_qq_band_is_simultaneous():
    """The 90% band holds a whole sorted chi2 sample about 90% of the time, and is wider than
    the pointwise 90% intervals."""
    n = 30
    lo, hi = plot.qq_band(n, 0.90, n_sim=2000, random_state=0)
    i = np.arange(1, n + 1)
    assert np.all(lo < stats.beta.ppf(0.05, i, n - i + 1))
    assert np.all(hi > stats.beta.ppf(0.95, i, n - i + 1))
    rng = np.random.default_rng(99)
    U = np.sort(rng.random((1000, n)), axis=1)
    inside = np.mean(np.all((U >= lo) & (U <= hi), axis=1))
    assert 0.86 <= inside <= 0.94, inside


def test_distance_distance_cutoffs_and_labels(data2):
    df, clean = data2
    ax = plot.distance_distance(df, robust=clean, alpha=0.025)
    cut = np.sqrt(stats.chi2.isf(0.025, 2))
    (h,), (v,) = _gid_lines(ax, "cutoff-robust"), _gid_lines(ax, "cutoff-classical")
    assert np.allclose(h.get_ydata(), cut) and np.allclose(v.get_xdata(), cut)
    assert {"o0", "o1", "o2", "o3"} <= {t.get_text() for t in ax.texts}
    assert "robust distance" in ax.get_ylabel()


def test_index_plot(data2):
    df, clean = data2
    d2 = clean.distance(df, squared=True)
    ax = plot.index_plot(d2, cutoff=9.0)
    (line,) = _gid_lines(ax, "cutoff")
    assert np.allclose(line.get_ydata(), 9.0)
    expected = set(d2.index[d2.to_numpy() > 9.0])
    assert expected and {t.get_text() for t in ax.texts} == expected
    with pytest.raises(ValueError, match="cutoff"):
        plot.index_plot(d2, cutoff=-1)


def _fake_chart():
    stat = np.array([1.0, 2.0, 15.0, 3.0, 0.5, 20.0])
    return SimpleNamespace(statistic=stat, ucl=10.0, signals=stat > 10.0, phase="I")


def test_control_chart_marks_signals():
    ax = plot.control_chart(_fake_chart())
    (ucl,) = _gid_lines(ax, "ucl")
    assert np.allclose(ucl.get_ydata(), 10.0)
    assert {t.get_text() for t in ax.texts} == {"2", "5"}   # 0-based positions of signals
    assert "signal (2)" in ax.get_legend_handles_labels()[1]
    assert "phase I" in ax.get_title()
    with pytest.raises(ValueError, match="T2Chart"):
        plot.control_chart(object())


def test_myt_plot_colours_signalling_terms():
    frame = pd.DataFrame({"term": ["T2_1", "T2_2", "T2_2.1"], "statistic": [0.5, 9.0, 12.0],
                          "ucl": [6.0, 6.0, 7.5]})
    ax = plot.myt_plot(frame)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["T2_1", "T2_2", "T2_2.1"]
    reds = [p for p in ax.patches if matplotlib.colors.to_hex(p.get_facecolor()) == "#cc0033"]
    assert len(reds) == 2
    assert [c for c in ax.collections if c.get_gid() == "critical"]


@pytest.mark.skipif(not HAS_CONTROL, reason="mahalanobis.control.T2Chart not importable yet")
def test_control_chart_and_myt_from_real_chart():
    from mahalanobis.control import T2Chart
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 3))
    X[20] += [0, 0, 8]
    chart = T2Chart(X)
    ax = plot.control_chart(chart)
    assert _gid_lines(ax, "ucl")
    i = int(np.flatnonzero(np.asarray(chart.signals))[0])
    ax2 = plot.myt_plot(chart.decompose(i))
    assert len(ax2.patches) >= 3


def test_no_matplotlib_import_at_package_import():
    import subprocess
    import sys
    code = "import mahalanobis, mahalanobis.plot, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
