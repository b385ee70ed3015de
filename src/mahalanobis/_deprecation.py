"""Old names that keep working for one release, with a FutureWarning.

- :func:`renamed_parameters` maps renamed keyword arguments (``mcd(X, alpha=0.75)`` ->
  ``support_fraction=0.75``);
- :func:`keyword_only` accepts arguments that became keyword-only when still passed by
  position (``metric.distance(X, True)`` -> ``squared=True``);
- :func:`deprecated_alias` keeps a renamed attribute readable.

Every warning names the old and the new spelling and the release that removes the old one.
The renames are listed in the README's "API changes" section.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["REMOVED_IN", "deprecated_alias", "keyword_only", "renamed_parameters"]

#: The release that will remove the old names.
REMOVED_IN = "0.3"

F = TypeVar("F", bound=Callable[..., Any])


def _warn(message: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{message}; the old spelling stops working in mahalanobis {REMOVED_IN}.",
                  FutureWarning, stacklevel=stacklevel)


def renamed_parameters(**renames: Any) -> Callable[[F], F]:
    """Accept ``old=value`` for each ``old="new"`` pair, warning and passing ``new=value``.

    Some old names are only deprecated for certain values (a keyword whose meaning moved to
    another keyword); pass those as ``"new:value1|value2"`` to rename only when the value is
    one of the listed strings. A pair ``old=("new", convert)`` passes ``new=convert(value)``
    (e.g. ``robust=True`` -> ``method="mcd"``).
    """
    def decorate(func: F) -> F:
        name = func.__qualname__.replace(".__init__", "")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, spec in renames.items():
                if old not in kwargs:
                    continue
                if isinstance(spec, tuple):
                    new, convert = spec
                    value = convert(kwargs[old])
                else:
                    new, _, values = spec.partition(":")
                    value = kwargs[old]
                    if values and not (isinstance(value, str) and value in values.split("|")):
                        continue
                if new in kwargs:
                    raise TypeError(f"{name}() got both {old}= (the old name) and {new}=; "
                                    f"pass only {new}=.")
                _warn(f"{name}(): {old}={kwargs[old]!r} is now {new}={value!r}")
                del kwargs[old]
                kwargs[new] = value
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
    return decorate


def keyword_only(n_positional: int, *names: str) -> Callable[[F], F]:
    """Map positional arguments beyond the first ``n_positional`` (counting ``self``) to the
    keyword-only parameters ``names``, in order, with a FutureWarning."""
    def decorate(func: F) -> F:
        name = func.__qualname__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if len(args) > n_positional:
                extra = args[n_positional:]
                if len(extra) > len(names):
                    raise TypeError(f"{name}() takes {n_positional} positional argument(s) but "
                                    f"{len(args)} were given.")
                for key, value in zip(names, extra):
                    if key in kwargs:
                        raise TypeError(f"{name}() got {key} both by position and by keyword.")
                    kwargs[key] = value
                _warn(f"{name}(): pass {', '.join(names[:len(extra)])} by keyword "
                      f"({names[0]}=...), not by position")
                args = args[:n_positional]
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
    return decorate


def deprecated_alias(old: str, new: str) -> property:
    """A read-only property ``old`` returning attribute ``new``, with a FutureWarning."""
    def getter(self: Any) -> Any:
        _warn(f"{type(self).__name__}.{old} is now .{new}")
        return getattr(self, new)

    return property(getter, doc=f"Deprecated alias of :attr:`{new}`.")
