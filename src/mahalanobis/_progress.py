"""Progress bars, shown only when asked for (``progress=True``): tqdm on standard error."""

from __future__ import annotations

from typing import Any

__all__ = ["NoBar", "progress_bar"]


class NoBar:
    """A progress bar that shows nothing (``progress=False``)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(enabled: bool, *, total: int | None = None, desc: str = "",
                 unit: str = "it") -> Any:
    """A tqdm bar when ``enabled`` (an ImportError naming the extra when tqdm is missing),
    else a :class:`NoBar`. Call ``close()`` when done."""
    if not enabled:
        return NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("progress=True needs tqdm: pip install 'mahalanobis[progress]'"
                          ) from None
    return tqdm(total=total, desc=desc, unit=unit, leave=False)
