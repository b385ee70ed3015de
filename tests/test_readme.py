"""Every ```python block of README.md runs, top to bottom, in one namespace (issue 12).

Blocks written as a doctest (``>>>`` prompts) are run as doctests, with their outputs checked;
the others are executed as scripts. A block needing an optional extra that is not installed
skips the rest. So the README cannot drift from the code again.
"""

import doctest
import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    text = README.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        line = text.count("\n", 0, m.start()) + 2
        out.append((line, m.group(1)))
    return out


def test_readme_has_python_blocks():
    assert len(_blocks()) >= 5


def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace: dict = {"__name__": "readme"}
    for line, code in _blocks():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if code.lstrip().startswith(">>>"):
                    test = doctest.DocTestParser().get_doctest(code, namespace, "README",
                                                               str(README), line - 1)
                    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                                   | doctest.NORMALIZE_WHITESPACE)
                    result = runner.run(test, clear_globs=False)
                    assert result.failed == 0, f"README.md line {line}: doctest failed"
                else:
                    exec(compile(code, f"README.md:{line}", "exec"), namespace)
        except ImportError as exc:  # an optional extra (dask, torch, ...) is not installed
            pytest.skip(f"README.md line {line} needs {exc.name}")
        except Exception as exc:
            raise AssertionError(f"README.md block at line {line} fails: "
                                 f"{type(exc).__name__}: {exc}") from exc
