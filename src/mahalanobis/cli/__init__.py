"""The `mahalanobis` command."""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from collections.abc import Sequence

from .._version import __version__
from . import chart, distance, outliers, pairwise, pca, report, test
from ._io import CLIError, check_outputs, output_transaction

EPILOG = """\
examples:
  mahalanobis outliers data.csv --id-column name -o result.csv
  mahalanobis outliers - < data.csv
  mahalanobis distance Y.csv --reference X.csv
  mahalanobis pairwise data.csv -o dist.csv
  mahalanobis test data.csv --group treatment
  mahalanobis chart phase1.csv --monitor new.csv
  mahalanobis pca data.csv -k 3 --plot map.svg
  mahalanobis report data.csv -o report.html

Run 'mahalanobis COMMAND --help' for the options and examples of each command.
Exit status: 0 success, 1 failure while running, 2 bad input or usage.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mahalanobis", description="Mahalanobis distances, outliers and tests from the "
        "command line.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in (outliers, distance, pairwise, test, chart, pca, report):
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("mahalanobis: interrupted", file=sys.stderr)
        return 130
    try:
        check_outputs(args)
        with warnings.catch_warnings(), output_transaction():  # all outputs or none
            warnings.simplefilter("default")
            warnings.showwarning = _one_line_warning
            return int(args.run(args))
    except (CLIError, ValueError) as exc:
        print(f"mahalanobis {args.command}: error: {_name_data(_one_line(exc), args)}",
              file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (e.g. piped into head): stop quietly
        try:  # as the Python docs advise: no second error when stdout is flushed at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor
            pass
        return 0
    except OSError as exc:
        print(f"mahalanobis {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if os.environ.get("MAHALANOBIS_DEBUG"):
            raise
        print(f"mahalanobis {args.command}: error: {_one_line(exc)} ({type(exc).__name__}; "
              "set MAHALANOBIS_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mahalanobis {args.command}: interrupted", file=sys.stderr)
        return 130


def _name_data(message: str, args: argparse.Namespace) -> str:
    """The library calls the data X; at the command line it is the input file."""
    path = getattr(args, "file", None)
    if isinstance(path, str) and re.match(r"X (has|is|lacks|must|could)\b", message):
        return ("standard input" if path == "-" else path) + message[1:]
    return message


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"mahalanobis: warning: {_one_line(Warning(str(message)))}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
