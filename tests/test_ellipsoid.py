"""Ellipsoid: membership equals D^2 <= r2, boundary on D^2 = r2, volumes, constructors."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mahalanobis as mh
from mahalanobis.inference import Ellipsoid

S2 = np.array([[4.0, 1.2], [1.2, 1.0]])
S3 = np.array([[3.0, 0.5, 0.2], [0.5, 2.0, -0.3], [0.2, -0.3, 1.0]])


def test_from_metric_chi2_95_in_p2():
    e = Ellipsoid.from_metric(mh.Metric([1.0, -2.0], S2))
    assert e.r2 == pytest.approx(5.991464547107979, rel=1e-12)
    assert e.level == 0.95 and e.kind == "chi2"


def test_contains_exactly_points_within_r2():
    rng = np.random.default_rng(0)
    m = mh.Metric([1.0, -2.0, 0.5], S3)
    e = Ellipsoid.from_metric(m, level=0.5)
    X = rng.standard_normal((500, 3)) * 2 + [1.0, -2.0, 0.5]
    d2 = m.distance(X, squared=True)
    np.testing.assert_array_equal(e.contains(X), d2 <= e.r2)
    assert 0 < e.contains(X).sum() < 500
    assert e.contains([1.0, -2.0, 0.5]) is True
    frame = pd.DataFrame(X, index=[f"r{i}" for i in range(500)])
    assert list(e.contains(frame).index[:2]) == ["r0", "r1"]


def test_boundary_points_lie_on_the_ellipse():
    e = Ellipsoid([1.0, 2.0], S2, 3.0)
    B = e.boundary(100)
    assert B.shape == (100, 2)
    np.testing.assert_allclose(mh.Metric([1.0, 2.0], S2).distance(B, squared=True), 3.0,
                               rtol=1e-12)
    np.testing.assert_allclose(B[0], B[-1])
    with pytest.raises(ValueError, match="p = 2"):
        Ellipsoid(np.zeros(3), S3, 1.0).boundary()


def test_axes_radii_and_volume_p2():
    e = Ellipsoid([0.0, 0.0], S2, 2.0)
    lam = np.linalg.eigvalsh(S2)[::-1]
    np.testing.assert_allclose(e.radii, np.sqrt(2.0 * lam), rtol=1e-12)
    assert e.radii[0] >= e.radii[1]
    np.testing.assert_allclose(e.axes.T @ e.axes, np.eye(2), atol=1e-12)
    # each axis endpoint is on the boundary
    for k in range(2):
        pt = e.center + e.radii[k] * e.axes[:, k]
        assert mh.Metric(e.center, S2).distance(pt[None], squared=True)[0] == pytest.approx(2.0)
    a, b = e.radii
    assert e.volume == pytest.approx(np.pi * a * b, rel=1e-12)
    assert e.log_volume == pytest.approx(np.log(np.pi * a * b), rel=1e-12)


def test_volume_p3():
    e = Ellipsoid(np.zeros(3), S3, 7.0)
    a, b, c = e.radii
    assert e.volume == pytest.approx(4.0 / 3.0 * np.pi * a * b * c, rel=1e-12)


def test_prediction_and_confidence_regions():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 2))
    m = mh.fit(X)
    n, p = 30, 2
    q = stats.f.ppf(0.9, p, n - p)
    pred = Ellipsoid.from_metric(m, 0.9, kind="prediction")
    conf = Ellipsoid.from_metric(m, 0.9, kind="confidence")
    assert pred.r2 == pytest.approx(p * (n + 1) * (n - 1) / (n * (n - p)) * q, rel=1e-12)
    assert conf.r2 == pytest.approx(p * (n - 1) / (n * (n - p)) * q, rel=1e-12)
    assert Ellipsoid.from_metric(m, 0.9, kind="prediction", n=100).r2 < pred.r2
    with pytest.raises(ValueError, match="pass n="):
        Ellipsoid.from_metric(mh.Metric([0, 0], np.eye(2)), kind="confidence")
    with pytest.raises(ValueError, match="kind"):
        Ellipsoid.from_metric(m, kind="tolerance")
    with pytest.raises(ValueError, match="level"):
        Ellipsoid.from_metric(m, level=95)


def test_prediction_region_coverage():
    """A new normal point falls in the 90% prediction ellipse 90% of the time."""
    rng = np.random.default_rng(2)
    hits, reps = 0, 400
    for _ in range(reps):
        X = rng.standard_normal((12, 2))
        e = Ellipsoid.from_metric(mh.fit(X), 0.9, kind="prediction")
        hits += e.contains(rng.standard_normal(2))
    lo, hi = stats.binom.interval(0.999, reps, 0.9)
    assert lo <= hits <= hi


def test_repr_frame_and_errors():
    e = Ellipsoid([0.0, 0.0], S2, 1.0, level=0.5)
    assert "Ellipsoid(p=2" in repr(e) and "level=0.5" in repr(e)
    df = e.to_frame()
    assert list(df.columns) == ["radius", "x0", "x1"]
    with pytest.raises(ValueError, match="r2"):
        Ellipsoid([0.0, 0.0], S2, -1.0)
    with pytest.raises(ValueError, match="not positive definite"):
        Ellipsoid([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], 1.0)
    with pytest.raises(ValueError, match="scatter"):
        Ellipsoid([0.0, 0.0], S3, 1.0)
