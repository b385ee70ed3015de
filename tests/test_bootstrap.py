"""Bootstrap cutoff (Phaladiganon et al. 2011)."""

import numpy as np
import pytest
from scipy import stats

from mahalanobis.inference import BootstrapCutoff, bootstrap_cutoff


def _t_d2(rng, n, p, nu):
    """Squared distances of multivariate t points under their true centre and scatter:
    D^2 / p ~ F(p, nu)."""
    Z = rng.standard_normal((n, p))
    w = rng.chisquare(nu, size=n) / nu
    X = Z / np.sqrt(w)[:, None]
    return np.sum(X * X, axis=1)


def test_close_to_true_quantile_for_multivariate_t():
    rng = np.random.default_rng(0)
    p, nu, alpha = 3, 5, 0.05
    d2 = _t_d2(rng, 3000, p, nu)
    true_q = p * stats.f.ppf(1 - alpha, p, nu)
    res = bootstrap_cutoff(d2, alpha, n_boot=500, random_state=1)
    assert isinstance(res, BootstrapCutoff)
    lo, hi = res.confidence_interval
    assert lo < res.cutoff < hi
    assert lo <= true_q <= hi
    assert res.cutoff == pytest.approx(true_q, rel=0.08)
    # the chi2 cutoff is far too small for heavy tails
    assert stats.chi2.ppf(1 - alpha, p) < lo
    assert res.standard_error == pytest.approx(res.percentiles.std(ddof=1))


def test_reproducible_and_repr():
    d2 = _t_d2(np.random.default_rng(1), 200, 2, 10)
    a = bootstrap_cutoff(d2, n_boot=200, random_state=3)
    b = bootstrap_cutoff(d2, n_boot=200, random_state=np.random.default_rng(3))
    assert a.cutoff == b.cutoff and a.confidence_interval == b.confidence_interval
    assert a.n_boot == 200 and a.alpha == 0.025 and a.n == 200
    assert "BootstrapCutoff(cutoff=" in repr(a)
    assert a.to_frame().loc[0, "cutoff"] == a.cutoff


def test_errors():
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_cutoff([1.0, 2.0, 3.0], alpha=2)
    with pytest.raises(ValueError, match="1-D"):
        bootstrap_cutoff(np.ones((3, 2)))
    with pytest.raises(ValueError, match="negative"):
        bootstrap_cutoff([1.0, -2.0, 3.0])
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_cutoff([1.0, 2.0, 3.0], n_boot=0)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_cutoff([1.0, np.nan, 3.0])
