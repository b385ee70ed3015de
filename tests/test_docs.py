"""The user guide's examples run: every ``>>>`` block of docs/guide/*.rst is a doctest (run
from the repository root, so that ``examples/data/...`` paths work). Blocks that are not meant
to run are ``.. code-block::`` (no ``>>>``)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = sorted((ROOT / "docs" / "guide").glob("*.rst"))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: Optional packages a page's examples need besides pandas and scikit-learn.
NEEDS = {"dask": ("dask",), "array_api": ("array_api_strict",)}


@pytest.mark.parametrize("page", GUIDE, ids=lambda p: p.stem)
def test_guide_examples_run(page, monkeypatch):
    pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    for module in NEEDS.get(page.stem, ()):
        pytest.importorskip(module)
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS,
                              verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} example(s) of {page.name} failed (output above)"


def _conf():
    spec = importlib.util.spec_from_file_location("docs_conf", ROOT / "docs" / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_api_reference_lists_every_public_name(tmp_path):
    """The API pages come from the modules' __all__: every public name is documented on one
    page or linked from it, without editing the docs."""
    conf = _conf()
    conf.write_api_pages(tmp_path)
    for modname in conf.PUBLIC:
        page = (tmp_path / f"{modname}.rst").read_text()
        listed = {line.strip() for line in page.split(".. autosummary::")[1].splitlines()}
        module = importlib.import_module(modname)
        for name, _ in conf._public_names(module):
            assert name in listed or f"``{modname}.{name}`` is" in page, (modname, name)
    # every public subpackage has a page (dir() includes the lazily imported ones)
    import mahalanobis as mh

    subpackages = {f"mahalanobis.{name}" for name in dir(mh)
                   if inspect.ismodule(getattr(mh, name))}
    assert subpackages <= set(conf.PUBLIC)
