"""Dask back end: fitting and scoring data larger than memory, on one machine or a cluster.

Reached through the ordinary API when the input is a dask Array or DataFrame:

* ``mh.fit(X_dask, method="empirical" | "mcd", ...)`` returns an ordinary (computed)
  :class:`~mahalanobis.Metric`. The empirical fit is one pass over the data: per-block counts,
  means and co-moment matrices merged exactly by a tree of Chan-Golub-LeVeque updates. The MCD
  runs its subset search in memory on a seeded sample and then C-steps over the full data as
  distributed passes (see :mod:`._mcd`).
* ``metric.distance / pvalue / outliers(X_dask)`` return lazy dask objects (a dask Array, or a
  dask Series with the DataFrame's index); the metric's factor enters the graph once.
* ``pairwise_dask`` for all-pairs distances of arrays blocked in both dimensions and
  ``outliers_dask`` for the command line (large CSV/Parquet in, a result table out).

The back end is split by layer: ``_common`` (core helpers), ``_score`` and ``_pairwise`` (the
metric layer), ``_fit``, ``_empirical`` and ``_mcd`` (the estimator layer) and ``_io`` (the
command line); each is imported by the layer it serves. dask itself is imported lazily;
without it an ImportError names ``mahalanobis[dask]``.
"""
