"""Distances and weighted moments of many candidate estimates at once, by one GEMM each.

The random-subset estimators (MVE, fast-S) score hundreds of candidate (center, scatter)
pairs on the full data. With the quadratic features f(x) = (x_j x_k (j <= k), x_j, 1) of the
(standardised) data, every squared distance is linear in f(x):

    d^2(x) = sum_{j<=k} (2 - [j = k]) P_jk x_j x_k - 2 (P m)^T x + m^T P m,   P = S^-1,

and so are the weighted sums that give a weighted mean and covariance. All candidates are
therefore scored by one matrix product (S, r) x (r, n), r = p(p+1)/2 + p + 1, the features
built chunk by chunk (never stored for all n). On data centred and scaled robustly this loses
about 1e-14 of the h-th smallest distance (measured for candidates with condition numbers up
to 1e10); the estimators recompute their final estimate exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["QuadraticFeatures"]

_CHUNK_ELEMS = 1 << 20


class QuadraticFeatures:
    """Quadratic features of the rows of Z (n, p), built chunk by chunk on demand."""

    def __init__(self, Z: np.ndarray) -> None:
        self.Z = np.ascontiguousarray(Z, dtype=float)
        n, p = self.Z.shape
        self.n, self.p = n, p
        self.iu = np.triu_indices(p)
        self.q = self.iu[0].size
        self.r = self.q + p + 1
        self.rows = max(256, _CHUNK_ELEMS // self.r)
        self._full = self._features(0, n) if n * self.r <= 16 * _CHUNK_ELEMS else None

    @property
    def cached(self) -> bool:
        """Whether the features are held for all rows (else rebuilt chunk by chunk on every
        call: callers then score more candidates per call)."""
        return self._full is not None

    def _features(self, a: int, b: int) -> np.ndarray:
        """F^T for rows a:b, shape (r, b - a): products x_j x_k (j <= k) written row block by
        row block in place (no gathered copies), then x and 1."""
        ZT = np.ascontiguousarray(self.Z[a:b].T)
        F = np.empty((self.r, b - a))
        off = 0
        for j in range(self.p):
            np.multiply(ZT[j], ZT[j:], out=F[off:off + self.p - j])
            off += self.p - j
        F[self.q:self.q + self.p] = ZT
        F[-1] = 1.0
        return F

    def _chunks(self):  # type: ignore[no-untyped-def]
        if self._full is not None:
            yield 0, self.n, self._full
            return
        for a in range(0, self.n, self.rows):
            b = min(self.n, a + self.rows)
            yield a, b, self._features(a, b)

    def coefficients(self, mu: np.ndarray, L: np.ndarray) -> np.ndarray:
        """(S, r) coefficients of d^2 for centres mu (S, p) and lower Cholesky factors L
        (S, p, p) of the scatters."""
        S, p = mu.shape
        W = np.linalg.solve(L, np.broadcast_to(np.eye(p), L.shape))      # L^-1
        P = np.matmul(W.transpose(0, 2, 1), W)
        Pm = np.einsum("sij,sj->si", P, mu)
        G = np.empty((S, self.r))
        G[:, :self.q] = (P * (2.0 - np.eye(p)))[:, self.iu[0], self.iu[1]]
        G[:, self.q:self.q + p] = -2.0 * Pm
        G[:, -1] = np.einsum("si,si->s", Pm, mu)
        return G

    def sq_dists(self, mu: np.ndarray, L: np.ndarray) -> np.ndarray:
        """Squared distances (S, n) of every row to each candidate (clamped at 0)."""
        G = self.coefficients(mu, L)
        out = np.empty((G.shape[0], self.n))
        for a, b, F in self._chunks():
            np.matmul(G, F, out=out[:, a:b])
        np.maximum(out, 0.0, out=out)
        return out

    def moments(self, W: np.ndarray, divisor: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted moments of the rows for the weight rows W (S, n): (sum w (S,), mean
        (S, p), scatter sum w (x - m)(x - m)^T / divisor (S, p, p); divisor default sum w)."""
        T = np.zeros((W.shape[0], self.r))
        for a, b, F in self._chunks():
            T += W[:, a:b] @ F.T
        p, q = self.p, self.q
        sw = T[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):   # all weights 0: NaN, singular
            mean = T[:, q:q + p] / sw[:, None]
        M2 = np.zeros((W.shape[0], p, p))
        M2[:, self.iu[0], self.iu[1]] = T[:, :q]
        M2[:, self.iu[1], self.iu[0]] = T[:, :q]
        C = M2 - sw[:, None, None] * mean[:, :, None] * mean[:, None, :]
        d = sw if divisor is None else divisor
        with np.errstate(invalid="ignore", divide="ignore"):
            return sw, mean, C / d[:, None, None]
