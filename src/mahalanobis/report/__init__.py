"""A self-contained HTML report of a table's outliers: :func:`build_report`."""

from ._build import build_report

__all__ = ["build_report"]
