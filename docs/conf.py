"""Sphinx configuration of the mahalanobis documentation site.

The API reference is generated from the ``__all__`` of the public modules (:data:`PUBLIC`) at
every build (``api/*.rst`` are written by :func:`write_api_pages` from :func:`setup`, never by
hand): a new public
name appears in the docs without editing them. A name exported by several modules (``mh.fit`` is
``mahalanobis.covariance.fit``) is documented once, on the first page that lists it, and the
other pages link there.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
# The gallery examples write the README figures as plain scripts; in the docs build they do
# the same (same code, same data), and sphinx-gallery captures the open figures.
os.environ.setdefault("MPLBACKEND", "Agg")

import mahalanobis  # noqa: E402

project = "mahalanobis"
author = "The mahalanobis developers"
copyright = "The mahalanobis developers"
release = mahalanobis.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext"}  # see _rst_sources_only below
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "gallery/*.md5", "gallery/*.json",
                    "gallery/*.zip", "gallery/*.py", "gallery/*.ipynb", "sg_execution_times.rst"]
templates_path = ["_templates"]

# --- API reference ---------------------------------------------------------------------------

#: The public modules, in the order of the reference; a name is documented on the first page
#: whose ``__all__`` lists it.
PUBLIC = {
    "mahalanobis": "The package: fit, distances, metrics, the main tests",
    "mahalanobis.covariance": "Estimators of location and scatter",
    "mahalanobis.inference": "Cutoffs, p-values, tests, leverage, ellipsoids",
    "mahalanobis.control": "Control charts",
    "mahalanobis.pca": "Classical and robust PCA",
    "mahalanobis.ml": "scikit-learn estimators",
    "mahalanobis.variants": "Kernel, functional, sketched and streaming metrics",
    "mahalanobis.plot": "Plots (matplotlib)",
    "mahalanobis.report": "The HTML report",
}


def _public_names(module):
    """The documented names of ``module``: its ``__all__`` without submodules and dunders."""
    for name in module.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        yield name, obj


def write_api_pages(out: pathlib.Path = HERE / "api") -> None:
    """Write ``api/index.rst`` and one ``api/<module>.rst`` per public module."""
    out.mkdir(exist_ok=True)
    seen: dict[int, str] = {}
    documented: set[str] = set()
    for modname in PUBLIC:
        module = importlib.import_module(modname)
        own, elsewhere = [], []
        for name, obj in _public_names(module):
            key = id(obj)
            if key in seen and not isinstance(obj, (int, float, str, tuple, frozenset)):
                elsewhere.append((name, seen[key]))
                continue
            seen[key] = f"{modname}.{name}"
            documented.add(f"{modname}.{name}.rst")
            own.append(name)
        heading = f"``{modname}``"
        lines = [f".. _api-{modname}:", "", heading, "=" * len(heading), "",
                 f".. automodule:: {modname}", "   :no-members:", "",
                 f".. currentmodule:: {modname}", "",
                 ".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in own]
        lines.append("")
        if elsewhere:
            lines += ["Also exported here", "------------------", ""]
            lines += [f"- ``{modname}.{name}`` is :obj:`{target}`" for name, target in elsewhere]
            lines.append("")
        text = "\n".join(lines)
        path = out / f"{modname}.rst"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    # Stubs of names no longer public (or from another branch) would be orphans: remove them.
    generated = out / "generated"
    if generated.is_dir():
        for stub in generated.glob("*.rst"):
            if stub.name not in documented:
                stub.unlink()
    index = ["API reference", "=============", "",
             "Generated from the ``__all__`` of each public module.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {modname}" for modname in PUBLIC]
    index += ["", ".. list-table::", "   :header-rows: 1", "", "   * - module",
              "     - what it holds"]
    for modname, title in PUBLIC.items():
        index += [f"   * - :ref:`{modname} <api-{modname}>`", f"     - {title}"]
    text = "\n".join(index) + "\n"
    path = out / "index.rst"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def remove_stale_gallery_pages() -> None:
    """Remove gallery pages of examples that no longer exist (they would be orphans)."""
    examples = {p.stem for p in (ROOT / "examples").glob("*.py")}
    for page in (HERE / "gallery").glob("*.rst"):
        if page.stem not in examples and page.stem not in ("index", "sg_execution_times"):
            page.unlink()


autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The build needs no network by default (CI, offline machines): links to the Python, NumPy,
# SciPy, scikit-learn and pandas docs only with MAHALANOBIS_DOCS_INTERSPHINX=1.
intersphinx_mapping = {}
if os.environ.get("MAHALANOBIS_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "pandas": ("https://pandas.pydata.org/docs/", None),
    }

# --- gallery ---------------------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "gallery",
    "filename_pattern": r"/[a-z].*\.py$",
    "ignore_pattern": r"(__init__|conftest)\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "min_reported_time": 1e9,
    "write_computation_times": False,
}

# --- HTML ------------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"mahalanobis {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
}
html_show_sourcelink = False
myst_heading_anchors = 3
suppress_warnings = ["config.cache"]


# Plain-text docstrings read well in help() but trip reStructuredText in two ways: a fitted
# attribute in prose (``points with D^2 > threshold_``) is a hyperlink reference to an unknown
# target, and an absolute value (``|x - center|``) is an undefined substitution. Escape both,
# outside inline literals, doctests and literal blocks, before numpydoc renders the docstring.
_TRAILING_UNDERSCORE = re.compile(r"(?<![\w`\\])([A-Za-z](?:\w*[A-Za-z0-9])?)_(?![\w`])")
#: A numpydoc definition line (``name : type``, a bare name, a See Also entry): numpydoc parses
#: and formats those itself.
_DEFINITION = re.compile(r"^\s*[\w*.~`:]+(\s*,\s*[\w*.~`:]+)*(\s:\s.*|\s*:?)$")
_BARS = re.compile(r"(?<![\w\\|])\|(?=\S)([^|`]*?\S)\|(?![\w|])")
_LITERAL = re.compile(r"(``.+?``|:[\w:]+:`[^`]*`|`[^`]*`_{0,2})")


def _escape_prose(text: str) -> str:
    parts = _LITERAL.split(text)
    for k in range(0, len(parts), 2):  # even parts are outside literals and roles
        part = _TRAILING_UNDERSCORE.sub(r"\1\\_", parts[k])
        parts[k] = _BARS.sub(r"\\|\1\\|", part)
    return "".join(parts)


def _escape_docstring(app, what, name, obj, options, lines):
    literal_indent = None  # inside a literal block: the indent of the paragraph that opened it
    in_doctest = False
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if in_doctest:
            in_doctest = bool(stripped)
            continue
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if stripped.startswith(">>>"):
            in_doctest = True
            continue
        if stripped.startswith(("..", "|", "+-", "+=")) or _DEFINITION.match(line):
            continue
        lines[i] = _escape_prose(line)
        if line.rstrip().endswith("::"):
            literal_indent = indent


def _skip_member(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn generates on every estimator."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def _rst_sources_only(app, config):
    """myst-parser registers ``.md`` as a source suffix; keep only ``.rst`` pages (Markdown is
    included with ``:parser: myst_parser.sphinx_``), else sphinx-gallery takes
    ``examples/data/README.md`` for the header of a gallery section."""
    for suffix in [s for s in config.source_suffix if s != ".rst"]:
        del config.source_suffix[suffix]  # in place: sphinx-gallery holds the same dict


def setup(app):
    # Before autosummary writes the stubs (builder-inited) and sphinx-gallery its pages.
    write_api_pages()
    remove_stale_gallery_pages()
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _escape_docstring, priority=100)
    app.connect("config-inited", _rst_sources_only, priority=900)
