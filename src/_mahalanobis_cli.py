"""Entry point of the ``mahalanobis`` command: Ctrl-C at any moment, even while numpy and
scipy are still being imported, ends the command quietly with status 130 (no traceback).

A top-level module, so that the guard is in place before the ``mahalanobis`` package is
imported (importing any of its submodules imports the package first)."""

import sys


def main() -> int:
    try:
        from mahalanobis.cli import main as run
        return run()
    except KeyboardInterrupt:
        try:
            print("mahalanobis: interrupted", file=sys.stderr)
        except (KeyboardInterrupt, OSError):  # pragma: no cover
            pass
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
