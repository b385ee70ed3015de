"""``python -m mahalanobis``: the command line, with Ctrl-C at any moment ending it quietly
(status 130, one line on standard error, no traceback), as the ``mahalanobis`` script does.

The package's ``__init__`` guarded the imports before this module ran; from here on the
script's entry point (a top-level module) does the same, and the command itself catches
KeyboardInterrupt around its work (nothing half-written stays: see ``cli._io``)."""

import signal
import sys

import _mahalanobis_cli

if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(_mahalanobis_cli.main())
