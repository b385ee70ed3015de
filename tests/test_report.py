"""mahalanobis.report.build_report: a self-contained HTML page with the expected sections."""

import matplotlib

matplotlib.use("Agg")

import re

import numpy as np
import pandas as pd
import pytest

import mahalanobis as mh
import mahalanobis.covariance
from conftest import load_example
from mahalanobis.report import build_report

HAS_MCD = "mcd" in mh.available_methods()


@pytest.fixture
def planted():
    rng = np.random.default_rng(4)
    X = rng.multivariate_normal([0, 0, 0], np.eye(3) + 0.5, size=80)
    X[:5] += [5, -5, 5]
    return pd.DataFrame(X, columns=["a", "b", "c"], index=[f"s{i}" for i in range(80)])


def _rows(html, table_id="flagged"):
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    return re.findall(r"<tr><td>([^<]*)</td>", table)


def test_report_is_self_contained_and_complete(planted):
    html = build_report(planted, method="mcd", alpha=0.025, title="Planted <test>")
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "Planted &lt;test&gt;" in html                     # escaped
    # nothing to fetch: no external references of any kind
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\((?!#)", html)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith("#") for h in hrefs)
    assert not re.search(r"https?://(?!www\.w3\.org/)", html)
    # sections
    for heading in ("Data", "Method and cutoff", "Diagnostics", "Flagged rows", "Plots"):
        assert f"<h2>{heading}" in html
    # MCD diagnostics
    for text in ("h (subset size)", "consistency factor, raw", "small-sample factor, raw",
                 "C-steps", "h / n (coverage)", "rows kept by the Hardin-Rocke reweighting"):
        assert text in html
    # the flagged rows: the planted ones, most outlying first
    rows = _rows(html)
    assert {f"s{i}" for i in range(5)} <= set(rows)
    assert 'class="sortable"' in html and "aria-sort" in html
    # figures: pairs grid (p = 3), Q-Q, distance-distance, index; inline SVG, sized by CSS
    for key in ("pairs", "qq", "dd", "index"):
        assert f'id="fig-{key}"' in html
    assert html.count("<svg ") == 4
    assert not re.search(r'<svg [^>]*\swidth="', html)


def test_report_counts_agree_with_mh_outliers(planted):
    html = build_report(planted, method="mcd", alpha=0.01)
    res = mh.outliers(planted.to_numpy(), method="mcd", alpha=0.01, random_state=0)
    assert f'<b id="n-flagged">{res.n_flagged}</b>' in html
    assert len(_rows(html)) == res.n_flagged
    assert "Cerioli" in html


def test_report_cerioli_count_matches_the_detector(planted):
    """cutoff_method="cerioli": m = the rows kept by the reweighting, as the detector (the
    report used h, the MCD subset size)."""
    pytest.importorskip("sklearn")
    from mahalanobis.ml import MahalanobisOutlierDetector
    rng = np.random.default_rng(1)  # a small sample where h = 22 and m = 35 differ
    X = rng.multivariate_normal([0, 0, 0], np.eye(3) + 0.5, size=40)
    X[:3] += [5, -5, 5]
    html = build_report(X, method="mcd", alpha=0.025, cutoff_method="cerioli")
    det = MahalanobisOutlierDetector(cutoff="cerioli", random_state=0).fit(X)
    n_det = int(np.sum(det.predict(X) == -1))
    assert f'<b id="n-flagged">{n_det}</b>' in html


def test_report_counts_and_cutoff_agree_with_outliers(planted):
    from scipy import stats
    html = build_report(planted, method="mcd", alpha=0.01, cutoff_method="chi2")
    m = mahalanobis.covariance.fit(planted.to_numpy(), method="mcd")
    d2 = m.distance(planted.to_numpy(), squared=True)
    cut = stats.chi2.isf(0.01, 3)
    n_flag = int((d2 > cut).sum())
    assert f'<b id="n-flagged">{n_flag}</b>' in html
    assert len(_rows(html)) == n_flag
    assert f"{cut:.6g}" in html


def test_empirical_report_has_no_dd_plot_and_ellipse_for_two_columns():
    df = load_example("starsCYG")
    html = build_report(df, method="empirical")
    assert 'id="fig-ellipse"' in html and 'id="fig-dd"' not in html
    assert "condition number of the scatter" in html and "h (subset size)" not in html
    assert html == build_report(df, method="empirical")     # reproducible, byte for byte


def test_missing_rows_and_text_columns_are_left_out_and_listed():
    df = load_example("airquality")
    html = build_report(df, method="empirical", missing="omit")
    n_complete = int(df.notna().all(axis=1).sum())
    assert f"{n_complete} rows × 6 columns" in html
    assert "row(s) with missing values were left out" in html
    iris = load_example("iris")
    html = build_report(iris, method="empirical")
    assert "Non-numeric column(s) left out: Species" in html


def test_id_column_labels_rows():
    df = load_example("USArrests")
    html = build_report(df, id_column="id", method="empirical", alpha=0.05)
    rows = _rows(html)
    assert rows and all(r[0].isupper() for r in rows)        # state names


@pytest.mark.parametrize("kwargs, msg", [
    ({"alpha": 0}, "alpha"),
    ({"cutoff_method": "normal"}, "cutoff_method"),
    ({"id_column": "nope"}, "id_column"),
    ({"columns": ["zz"]}, "columns"),
    ({"method": "bogus"}, "method"),
])
def test_bad_arguments_are_value_errors(planted, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        build_report(planted, **{"method": "empirical", **kwargs})


def test_too_few_rows():
    with pytest.raises(ValueError, match="more rows than columns"):
        build_report(pd.DataFrame(np.eye(3)), method="empirical")


@pytest.mark.skipif(not HAS_MCD, reason="mahalanobis.covariance.mcd not importable yet")
def test_real_mcd_report_on_hbk():
    df = load_example("hbk")
    html = build_report(df, method="mcd", cutoff_method="chi2")
    assert set(map(str, range(10))) <= set(_rows(html))    # the 10 bad leverage points
    assert "h (subset size)" in html


def test_report_level_simultaneous_matches_mh_outliers(planted):
    html = build_report(planted, method="empirical", level="simultaneous")
    res = mh.outliers(planted.to_numpy(), method="empirical", level="simultaneous")
    assert f'<b id="n-flagged">{res.n_flagged}</b>' in html
    assert "family-wise level 0.025 over the 80 rows" in html
    with pytest.raises(ValueError, match="level"):
        build_report(planted, level="both")
