"""Arrays from other libraries (the Array API standard): results in the input's namespace,
on its device, in its floating dtype, equal to the NumPy path (1e-12 in float64, float32
rounding in float32).

Backends: array-api-strict (always, small; also on its non-default device "device1" and on
its "no_float64" device), JAX's CPU backend (float64 with jax_enable_x64, float32 without),
PyTorch on the CPU when torch is importable (`make test-torch` installs it), and the same
tests on CUDA (PyTorch, CuPy, JAX) when a GPU is visible, skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from scipy import stats

import mahalanobis as mh
from mahalanobis import _array_api
from mahalanobis.errors import SingularCovarianceError
from mahalanobis.ml import MahalanobisOOD

pytest.importorskip("array_api_compat")
xs = pytest.importorskip("array_api_strict")


_HAS_JAX = importlib.util.find_spec("jax") is not None
_HAS_TORCH = importlib.util.find_spec("torch") is not None


# --------------------------------------------------------------------------- backends
class Backend:
    """One library on one device: make arrays, read them back, check where results live."""

    def __init__(self, name: str, xp, device, to_numpy, f64: bool = True) -> None:
        self.name, self.xp, self.device, self._to_numpy, self.f64 = (name, xp, device,
                                                                     to_numpy, f64)

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is None:
            dtype = self.xp.float64 if (a.dtype.kind == "f" and self.f64) else None
        if dtype is None and a.dtype.kind == "f":
            dtype = self.xp.float32
        return self.xp.asarray(a, dtype=dtype, device=self.device)

    def np(self, a):
        return self._to_numpy(a)

    def check(self, a, dtype=None):
        """a is an array of this library on this device (and of dtype, when given)."""
        assert _array_api.is_foreign(a), type(a)
        assert _array_api.namespace(a) is _array_api.namespace(self.asarray(np.zeros(1)))
        assert str(_array_api.device_of(a)) == str(self.device)
        if dtype is not None:
            assert a.dtype == dtype, (a.dtype, dtype)
        return self.np(a)

    def __repr__(self) -> str:
        return self.name


def _strict(device_name: str | None = None, f64: bool = True) -> Backend:
    dev = xs.Device(device_name) if device_name else xs.Device("CPU_DEVICE")
    cpu = xs.Device("CPU_DEVICE")
    return Backend(f"strict-{device_name or 'cpu'}", xs, dev,
                   lambda a: np.asarray(a.to_device(cpu)), f64)


def _jax(x64: bool, platform: str = "cpu") -> Backend:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", x64)
    return Backend(f"jax-{platform}-{'x64' if x64 else 'x32'}", jnp, jax.devices(platform)[0],
                   np.asarray, x64)


def _torch(device: str) -> Backend:
    import torch
    from array_api_compat import torch as xpt
    return Backend(f"torch-{device}", xpt, torch.device(device),
                   lambda a: a.detach().cpu().numpy())


def _cupy() -> Backend:  # pragma: no cover - needs a GPU
    import cupy
    from array_api_compat import cupy as xpc
    return Backend("cupy", xpc, cupy.cuda.Device(0), cupy.asnumpy)


def _has_cuda_torch() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch
    return bool(torch.cuda.is_available())


def _has_jax_gpu() -> bool:
    if not _HAS_JAX:
        return False
    import jax
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


def _has_cupy() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:  # pragma: no cover - needs a GPU
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


_NO_TORCH = "torch is not installed (make test-torch installs the CPU wheel)"
BACKENDS = [
    pytest.param("strict", id="strict"),
    pytest.param("strict-device1", id="strict-device1"),
    pytest.param("jax", id="jax-cpu", marks=pytest.mark.skipif(not _HAS_JAX,
                                                              reason="jax not installed")),
    pytest.param("torch", id="torch-cpu", marks=pytest.mark.skipif(not _HAS_TORCH,
                                                                  reason=_NO_TORCH)),
    pytest.param("torch-cuda", id="torch-cuda", marks=pytest.mark.skipif(
        not _has_cuda_torch(), reason="no CUDA device visible to torch")),
    pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(
        not _has_cupy(), reason="no CuPy with a CUDA device")),
    pytest.param("jax-gpu", id="jax-gpu", marks=pytest.mark.skipif(
        not _has_jax_gpu(), reason="no GPU visible to JAX")),
]


#: JAX compiles every operation for every new shape on first use (seconds per test on a
#: loaded 2-core machine), so the exhaustive parametrisations run on the other backends and
#: JAX runs the tests that reach each code path once (its own: NaN from a failed Cholesky,
#: immutable arrays, its triangular solve and gammaincc, no float64 without x64).
BACKENDS_LIGHT = [b for b in BACKENDS if b.id not in ("jax-cpu", "jax-gpu")]


def _make_backend(request):
    name = request.param
    if name in ("jax", "jax-gpu"):
        import jax
        old = jax.config.jax_enable_x64
        yield _jax(True, "gpu" if name == "jax-gpu" else "cpu")
        jax.config.update("jax_enable_x64", old)
        return
    yield {"strict": lambda: _strict(), "strict-device1": lambda: _strict("device1"),
           "torch": lambda: _torch("cpu"), "torch-cuda": lambda: _torch("cuda"),
           "cupy": _cupy}[name]()


@pytest.fixture(params=BACKENDS)
def be(request):
    """A float64-capable backend (JAX with x64 switched on for the test)."""
    yield from _make_backend(request)


@pytest.fixture(params=BACKENDS_LIGHT)
def be_light(request):
    """The float64-capable backends but JAX (see BACKENDS_LIGHT)."""
    yield from _make_backend(request)


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    p = 5
    A = rng.standard_normal((p, p))
    S = A @ A.T / p + 0.5 * np.eye(p)
    X = rng.standard_normal((80, p)) @ np.linalg.cholesky(S).T + 3.0
    Y = rng.standard_normal((9, p)) * 2 + 3.0
    return X, Y, X.mean(axis=0), np.cov(X.T)


def _close(a, b, rtol=1e-12, atol=0.0):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- detection
def test_numpy_like_input_is_not_foreign():
    import pandas as pd
    assert not _array_api.is_foreign(np.ones(3), [1.0, 2.0], 3.0, None, pd.DataFrame({"a": [1]}))
    assert _array_api.is_foreign(np.ones(2), xs.asarray([1.0]))


def test_arrays_of_two_libraries_are_an_error():
    pytest.importorskip("jax")
    import jax.numpy as jnp
    with pytest.raises(TypeError, match=r"different libraries \(array_api_strict, jax"):
        mh.Metric(xs.asarray([0.0, 0.0]), jnp.eye(2))


# --------------------------------------------------------------------------- Metric
def test_metric_from_arrays_keeps_namespace_device_and_factor(be_light, data):
    be = be_light
    _, _, c, S = data
    m, ref = mh.Metric(be.asarray(c), be.asarray(S)), mh.Metric(c, S)
    for attr in ("center", "cov", "cholesky", "precision"):
        _close(be.check(getattr(m, attr), be.xp.float64), getattr(ref, attr), atol=1e-14)
    assert m.log_det == pytest.approx(ref.log_det, rel=1e-13)
    assert m.condition_number == pytest.approx(ref.condition_number, rel=1e-12)
    assert m.n_features == 5


def test_metric_scoring_equals_numpy(be, data):
    X, Y, c, S = data
    ref = mh.Metric(c, S)
    for m in (mh.Metric(be.asarray(c), be.asarray(S)),  # factored on the device
              ref):                                      # NumPy factor moved to the device
        Xb = be.asarray(X)
        _close(be.check(m.distance(Xb), be.xp.float64), ref.distance(X))
        _close(be.check(m.distance(Xb, squared=True)), ref.distance(X, squared=True))
        _close(be.check(m.pvalue(Xb), be.xp.float64), ref.pvalue(X), atol=1e-15)
        flags = be.check(m.outliers(Xb, alpha=0.2), be.xp.bool)
        np.testing.assert_array_equal(flags, ref.outliers(X, alpha=0.2))
        assert flags.sum() > 0
        for kind in ("cholesky", "zca", "pca"):
            _close(be.check(m.whiten(Xb, kind=kind)), ref.whiten(X, kind=kind), atol=1e-12)
        _close(be.check(m.pairwise(Xb)), ref.pairwise(X), atol=1e-12)
        _close(be.check(m.pairwise(Xb, be.asarray(Y))), ref.pairwise(X, Y))


def test_metric_from_precision_and_cholesky(be_light, data):
    be = be_light
    X, _, c, S = data
    ref = mh.Metric(c, S).distance(X)
    P, L = np.linalg.inv(S), np.linalg.cholesky(S)
    mp = mh.Metric.from_precision(be.asarray(c), be.asarray(P))
    _close(be.check(mp.distance(be.asarray(X))), ref, rtol=1e-11)
    assert mp.log_det == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-12)
    mc = mh.Metric.from_cholesky(be.asarray(c), be.asarray(L.T), lower=False)
    _close(be.check(mc.distance(be.asarray(X))), ref, rtol=1e-12)
    with pytest.raises(SingularCovarianceError, match="zero on its diagonal"):
        mh.Metric.from_cholesky(be.asarray(c), be.asarray(np.diag([1.0, 0, 1, 1, 1])))


def test_array_metric_scores_numpy_input_on_the_host(be_light, data):
    be = be_light
    X, _, c, S = data
    m = mh.Metric(be.asarray(c), be.asarray(S))
    out = m.distance(X)
    assert isinstance(out, np.ndarray)
    _close(out, mh.Metric(c, S).distance(X))
    _close(m.pairwise(X[:4]), mh.Metric(c, S).pairwise(X[:4]))


def test_metrics_pickle_after_scoring_arrays(be_light, data):
    """The per-device factor caches are dropped when pickling and rebuilt afterwards."""
    import pickle
    be = be_light
    X, _, c, S = data
    for m in (mh.Metric(c, S), mh.fit(be.asarray(X), method="ledoit_wolf")):
        before = be.np(m.distance(be.asarray(X)))
        m2 = pickle.loads(pickle.dumps(m))
        _close(be.check(m2.distance(be.asarray(X))), before)
        with pytest.raises(AttributeError, match="immutable"):
            m2.n_samples = 3


def test_function_forms(be, data):
    X, Y, c, S = data
    Xb, Yb = be.asarray(X), be.asarray(Y)
    _close(be.check(mh.distance(Xb, be.asarray(c), cov=be.asarray(S))), mh.distance(X, c, S))
    _close(be.check(mh.distance(Xb, c, cov=S, squared=True)), mh.distance(X, c, S, squared=True))
    _close(be.check(mh.distance(Xb, c, precision=np.linalg.inv(S))), mh.distance(X, c, S),
           rtol=1e-11)
    _close(be.check(mh.whiten(Xb, c, S)), mh.whiten(X, c, S), atol=1e-12)
    # the default covariance of pairwise is accumulated on the device
    _close(be.check(mh.pairwise(Xb, Yb), be.xp.float64), mh.pairwise(X, Y))
    _close(be.check(mh.pairwise(Xb)), mh.pairwise(X), atol=1e-12)
    _close(be.check(mh.pairwise(Xb, cov=be.asarray(S))), mh.pairwise(X, cov=S), atol=1e-12)


def test_pairwise_near_pairs_keep_relative_accuracy(be):
    """Close pairs far from the origin: the GEMM expansion cancels, the direct recomputation
    on the device keeps every entry accurate (as the NumPy kernel does)."""
    rng = np.random.default_rng(3)
    X = 1e4 + rng.standard_normal((30, 3))
    X[1] = X[0] + 1e-7
    S = np.eye(3)
    out = be.check(mh.pairwise(be.asarray(X), cov=be.asarray(S)))
    _close(out, mh.pairwise(X, cov=S), rtol=1e-9, atol=0)
    assert out[0, 1] == pytest.approx(np.linalg.norm(X[1] - X[0]), rel=1e-9)
    assert np.all(np.diag(out) == 0) and np.array_equal(out, out.T)


# --------------------------------------------------------------------------- float32
def test_float32_stays_float32_with_the_stated_accuracy(be_light, data):
    be = be_light
    X, _, c, S = data
    X32 = X.astype(np.float32)
    ref = mh.Metric(c, S)
    exact = ref.distance(X32.astype(float), squared=True)
    for m in (mh.Metric(be.asarray(c), be.asarray(S)), ref):
        d2 = be.check(m.distance(be.asarray(X32, be.xp.float32), squared=True), be.xp.float32)
        # docstring: sqrt(p) * 6e-8 + 6e-8 |x - m| |m| / D^2 (here |m| ~ 7, |x - m| ~ 3)
        bound = np.sqrt(5) * 6e-8 + 6e-8 * 8 * 25 / exact
        assert np.all(np.abs(d2 - exact) <= 4 * bound * exact)
        pv = be.check(m.pvalue(be.asarray(X32, be.xp.float32)), be.xp.float32)
        _close(pv, stats.chi2.sf(exact, 5), rtol=1e-4, atol=1e-6)
        W = be.check(m.whiten(be.asarray(X32, be.xp.float32)), be.xp.float32)
        _close(W, ref.whiten(X32.astype(float)), rtol=0, atol=1e-5)
        D = be.check(m.pairwise(be.asarray(X32, be.xp.float32)), be.xp.float32)
        _close(D, ref.pairwise(X32.astype(float)), rtol=2e-5, atol=1e-6)
        # dtype="float64" computes in float64: the float32 data, exactly
        d64 = be.check(m.distance(be.asarray(X32, be.xp.float32), squared=True,
                                  dtype="float64"), be.xp.float64)
        _close(d64, exact, rtol=1e-12)


def test_numpy_path_dtype_keyword(data):
    X, Y, c, S = data
    m = mh.Metric(c, S)
    d = m.distance(X, dtype="float32")
    assert d.dtype == np.float32 and np.allclose(d, m.distance(X), rtol=1e-7)
    assert m.distance(X, dtype=np.float64).dtype == np.float64
    assert mh.pairwise(X, Y, dtype="float32").dtype == np.float32
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        m.distance(X, dtype="int8")


def test_jax_without_x64_works_in_float32(data):
    """JAX without jax_enable_x64 has no float64: everything (fits included) in float32."""
    pytest.importorskip("jax")
    import jax
    old = jax.config.jax_enable_x64
    try:
        be = _jax(False)
        X = data[0]
        m = mh.fit(be.asarray(X))
        assert m.cov.dtype == be.xp.float32
        _close(be.np(m.cov), np.cov(X.T), rtol=1e-5)
        d = be.check(m.distance(be.asarray(X)), be.xp.float32)
        _close(d, mh.fit(X).distance(X), rtol=1e-5)
        with pytest.raises(ValueError, match="has no float64"):
            m.distance(be.asarray(X), dtype="float64")
    finally:
        jax.config.update("jax_enable_x64", old)


def test_device_without_float64_computes_in_float32(data):
    """array-api-strict's "no_float64" device: the work dtype falls back to float32."""
    X = data[0]
    be = _strict("no_float64", f64=False)
    m = mh.fit(be.asarray(X))
    assert m.cov.dtype == xs.float32 and m.cov.device == be.device
    _close(be.np(m.cov), np.cov(X.T), rtol=1e-5)
    _close(be.check(m.distance(be.asarray(X)), xs.float32), mh.fit(X).distance(X), rtol=1e-5)
    with pytest.raises(ValueError, match="has no float64"):
        m.distance(be.asarray(X), dtype="float64")


# --------------------------------------------------------------------------- fits
@pytest.mark.parametrize("method,options", [
    ("empirical", {}), ("empirical", {"location": "median"}),
    ("empirical", {"location": [3.0, 3.0, 3.0, 3.0, 3.0]}),
    ("ledoit_wolf", {}), ("ledoit_wolf", {"assume_centered": True}),
    ("oas", {}), ("oas", {"formula": "sklearn"}),
    ("ridge", {"lam": 0.25}), ("ridge", {"random_state": 0}),
    ("ridge", {"lams": [0.01, 0.1, 1.0], "cv": 3, "random_state": 1}),
])
def test_fits_equal_numpy(be_light, data, method, options):
    be = be_light
    X = data[0]
    ref = mh.fit(X, method=method, **options)
    res = mh.fit(be.asarray(X), method=method, **options)
    assert type(res) is type(ref) and res.method == method and res.n_samples == 80
    _close(be.check(res.center, be.xp.float64), ref.center, atol=1e-13)
    _close(be.check(res.cov, be.xp.float64), ref.cov, rtol=1e-12, atol=1e-14)
    for field in ("shrinkage", "mu", "lam"):
        if hasattr(ref, field):
            assert getattr(res, field) == pytest.approx(getattr(ref, field), rel=1e-12)
    if method == "ridge" and "lam" not in options:
        _close(res.cv_scores, ref.cv_scores, rtol=1e-12)
    _close(be.check(res.distance(be.asarray(X))), ref.distance(X))


def test_ridge_cross_validation_with_p_above_n(be_light):
    """Fewer training rows than features: each fold's spectrum by a thin SVD on the device."""
    be = be_light
    X = np.random.default_rng(2).standard_normal((8, 20))
    ref = mh.fit(X, method="ridge", random_state=1)
    res = mh.fit(be.asarray(X), method="ridge", random_state=1)
    assert res.lam == ref.lam
    _close(res.cv_scores, ref.cv_scores, rtol=1e-8)  # the same O(cond * eps) sums as NumPy
    _close(be.check(res.cov), ref.cov, rtol=1e-12, atol=1e-14)


def test_float32_data_are_fitted_in_float64(be_light, data):
    be = be_light
    X32 = data[0].astype(np.float32)
    for method in ("empirical", "ledoit_wolf", "oas"):
        res = mh.fit(be.asarray(X32, be.xp.float32), method=method)
        ref = mh.fit(X32.astype(float), method=method)
        _close(be.check(res.cov, be.xp.float64), ref.cov, rtol=1e-12, atol=1e-14)
        d = be.check(res.distance(be.asarray(X32, be.xp.float32)), be.xp.float32)
        _close(d, ref.distance(X32.astype(float)), rtol=1e-5)


def test_fit_errors_and_nan_policy(be_light, data):
    be = be_light
    X = data[0].copy()
    X[[3, 11]] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values in 2 row\(s\) \(rows \[3, 11\]"):
        mh.fit(be.asarray(X))
    res = mh.fit(be.asarray(X), nan_policy="omit")
    np.testing.assert_array_equal(res.omitted, [3, 11])
    _close(be.np(res.cov), mh.fit(X, nan_policy="omit").cov, rtol=1e-12)
    with pytest.raises(SingularCovarianceError, match="2 rows for 5 features"):
        mh.fit(be.asarray(data[0][:2]))
    Xc = data[0].copy()
    Xc[:, 2] = 1.0
    with pytest.raises(SingularCovarianceError, match="constant column"):
        mh.fit(be.asarray(Xc))


def test_distance_nan_policy(be_light, data):
    be = be_light
    X, _, c, S = data
    X = X.copy()
    X[4, 1] = np.inf
    m = mh.Metric(be.asarray(c), be.asarray(S))
    with pytest.raises(ValueError, match=r"rows \[4\]"):
        m.distance(be.asarray(X))
    with pytest.warns(UserWarning, match=r"dropped 1 row\(s\).*positions \[4\]"):
        d = be.check(m.distance(be.asarray(X), nan_policy="omit"))
    _close(d, mh.Metric(c, S).distance(np.delete(X, 4, axis=0)))
    d = be.check(m.distance(be.asarray(X), nan_policy="propagate"))
    assert np.isnan(d[4]) and np.isfinite(np.delete(d, 4)).all()


def test_singular_scatter_is_reported_with_its_rank(be):
    """JAX and CuPy return NaN from a failed Cholesky, PyTorch raises: all give the package's
    SingularCovarianceError with the rank, and the rcond rule catches near-singular ones."""
    S = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(SingularCovarianceError, match="numerical rank 2 of 3") as info:
        mh.Metric(be.asarray(np.zeros(3)), be.asarray(S))
    assert info.value.rank == 2
    near = S + np.diag([1e-17, 0.0, 0.0])
    near[1, 1] += 1e-15
    with pytest.raises(SingularCovarianceError):
        mh.Metric(be.asarray(np.zeros(3)), be.asarray(near))
    with pytest.raises(ValueError, match="not symmetric"):
        mh.Metric(be.asarray(np.zeros(2)), be.asarray([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="has 3 columns but 2 were expected"):
        mh.Metric(be.asarray(np.zeros(2)), be.asarray(np.eye(2))).distance(
            be.asarray(np.ones((4, 3))))


# --------------------------------------------------------------------------- ML and streams
@pytest.mark.parametrize("options", [{}, {"normalize": False}, {"relative": True}])
def test_ood_equals_numpy(be_light, options):
    be = be_light
    _check_ood(be, options)


def test_ood_on_jax():
    pytest.importorskip("jax")
    import jax
    old = jax.config.jax_enable_x64
    try:
        _check_ood(_jax(True), {})
    finally:
        jax.config.update("jax_enable_x64", old)


def _check_ood(be, options):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, 400)
    X = rng.standard_normal((400, 6)) + y[:, None]
    T = rng.standard_normal((50, 6)) * 2
    ref = MahalanobisOOD(**options).fit(X, y)
    for labels in (y, be.asarray(y, be.xp.int64 if be.f64 else be.xp.int32)):
        est = MahalanobisOOD(**options).fit(be.asarray(X), labels)
        _close(be.check(est.means_), ref.means_, atol=1e-14)
        _close(be.check(est.covariance_), ref.covariance_, rtol=1e-12, atol=1e-15)
        s = be.check(est.score_samples(be.asarray(T)), be.xp.float64)
        _close(s, ref.score_samples(T), rtol=1e-10 if options.get("relative") else 1e-12)
        _close(be.check(est.class_distances(be.asarray(T))), ref.class_distances(T),
               rtol=1e-10, atol=1e-12)
        pred = est.predict(be.asarray(T))
        pred = be.check(pred) if _array_api.is_foreign(labels) else pred
        np.testing.assert_array_equal(pred, ref.predict(T))
        s32 = be.check(est.score_samples(be.asarray(T, be.xp.float32)), be.xp.float32)
        _close(s32, ref.score_samples(T.astype(np.float32).astype(float)),
               rtol=1e-4 if options.get("relative") else 1e-5)
    with pytest.raises(TypeError, match="fitted on"):
        est.score_samples(T)


def test_ood_numpy_fit_scores_arrays_on_their_device(be_light):
    be = be_light
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 200)
    X = rng.standard_normal((200, 4)) + y[:, None]
    est = MahalanobisOOD().fit(X, y)
    s = be.check(est.score_samples(be.asarray(X[:20])), be.xp.float64)
    _close(s, est.score_samples(X[:20]), rtol=1e-12)


def test_online_partial_fit_on_batches(be, data):
    X = data[0] + 1e3
    ref, om = mh.OnlineMetric(), mh.OnlineMetric()
    for s in range(0, 80, 25):
        ref.partial_fit(X[s:s + 25])
        om.partial_fit(be.asarray(X[s:s + 25]))
    _close(be.check(om.center), ref.center, rtol=1e-14)
    _close(be.check(om.cov), ref.cov, rtol=1e-11, atol=1e-13)
    _close(be.check(om.distance(be.asarray(X))), ref.distance(X), rtol=1e-10)
    _close(be.check(om.pvalue(be.asarray(X))), ref.pvalue(X), rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(be.check(om.outliers(be.asarray(X), 0.3)),
                                  ref.outliers(X, 0.3))
    om.partial_fit(be.asarray(X[:1]))  # a single row is a batch too
    ref.partial_fit(X[:1])
    _close(be.np(om.cov), ref.cov, rtol=1e-11, atol=1e-13)
    with pytest.raises(TypeError, match="one library"):
        om.partial_fit(X[:3])
    with pytest.raises(TypeError, match=r"OnlineMetric.remove\(\) has no Array API path"):
        om.remove(be.asarray(X[:3]))
    with pytest.raises(TypeError, match="forgetting= or window="):
        mh.OnlineMetric(forgetting=0.9).partial_fit(be.asarray(X[:3]))


# --------------------------------------------------------------------------- unsupported
def test_unsupported_functions_name_themselves_and_the_fix(data):
    X = xs.asarray(data[0])
    with pytest.raises(TypeError, match=r"fit\(X, method='mcd'\) has no Array API path.*"
                                        r"numpy\.asarray\(X\)"):
        mh.fit(X, method="mcd")
    with pytest.raises(TypeError, match=r"^mcd\(\) has no Array API path"):
        mh.covariance.mcd(X)
    with pytest.raises(TypeError, match=r"^hotelling_t2\(\) has no Array API path"):
        mh.hotelling_t2(X)
    with pytest.raises(TypeError, match=r"Metric.ellipsoid\(\) has no Array API path"):
        mh.fit(X).ellipsoid()
    with pytest.raises(TypeError, match="nan_policy='marginal'"):
        mh.fit(X).distance(X, nan_policy="marginal")


@pytest.mark.skipif(not _HAS_TORCH, reason=_NO_TORCH)
def test_unsupported_error_says_cpu_numpy_for_torch(data):
    import torch
    with pytest.raises(TypeError, match=r"X\.detach\(\)\.cpu\(\)\.numpy\(\)"):
        mh.fit(torch.as_tensor(data[0]), method="mrcd")


# --------------------------------------------------------------------------- gaps
def test_gaps_are_handled_explicitly():
    """array-api-strict has no triangular solve and no special functions: the general solve
    and SciPy on the host fill in; the libraries that have them use their own."""
    assert _array_api._solve_triangular(xs) is None
    L = xs.asarray(np.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]])))
    W = _array_api.inverse_triangular(xs, L)
    _close(np.asarray(W) @ np.asarray(L), np.eye(2), atol=1e-15)
    assert float(W[0, 1]) == 0.0
    d2 = xs.asarray([0.5, 3.0, 9.0])
    _close(np.asarray(_array_api.chi2_sf(xs, d2, 3)), stats.chi2.sf([0.5, 3.0, 9.0], 3))
    if _HAS_JAX:
        import jax.numpy as jnp
        assert _array_api._solve_triangular(jnp) is not None
        _close(np.asarray(_array_api.chi2_sf(jnp, jnp.asarray([0.5, 3.0, 9.0]), 3)),
               stats.chi2.sf([0.5, 3.0, 9.0], 3), rtol=1e-5)


def test_install_hint_without_array_api_compat(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "array_api_compat":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"pip install 'mahalanobis\[array-api\]'"):
        _array_api.namespace(xs.asarray([1.0]))


def test_readme_example_runs_on_array_api_strict():
    """The README's "PyTorch / JAX / CuPy" example, as a doctest on array-api-strict."""
    import doctest
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## PyTorch / JAX / CuPy", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    test = doctest.DocTestParser().get_doctest(code, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runner.run(test)
    assert result.attempted >= 10 and result.failed == 0
