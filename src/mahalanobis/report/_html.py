"""The page around the report: inline CSS and JavaScript, and small HTML helpers.

Everything is inline so the file opens anywhere, offline, and fetches nothing.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

CSS = """
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #dadce0; --accent: #0b57d0;
        --flag: #b3261e; --bg: #fff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 16px clamp(12px, 3vw, 32px) 48px; }
h1 { font-size: 1.55rem; margin: .4em 0 .2em; }
h2 { font-size: 1.2rem; margin: 1.8em 0 .5em; padding-bottom: .2em;
     border-bottom: 1px solid var(--line); }
p.lead { color: var(--muted); margin-top: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
         gap: 10px; margin: 12px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
        padding: 8px 12px; }
.card b { display: block; font-size: 1.3rem; }
.card span { color: var(--muted); font-size: .85rem; }
.card.flag b { color: var(--flag); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line);
          border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: .88rem;
        font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: var(--panel); position: sticky; top: 0; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button:focus-visible { outline: 2px solid var(--accent); }
th[aria-sort=ascending] button::after { content: " \\25B2"; font-size: .7em; }
th[aria-sort=descending] button::after { content: " \\25BC"; font-size: .7em; }
tbody tr:hover { background: #fff8e1; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; font-variant-numeric: tabular-nums; }
.figs { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr));
        gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px;
         padding: 8px; }
figure.wide { grid-column: 1 / -1; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; margin-top: 4px; }
.note { background: #fff8e1; border-left: 4px solid #f9a825; padding: 8px 12px;
        border-radius: 4px; }
footer { color: var(--muted); font-size: .8rem; margin-top: 3em; }
@media (max-width: 600px) {
  body { font-size: 14px; }
  h1 { font-size: 1.3rem; }
  dl.kv { grid-template-columns: 1fr; gap: 0; }
  dl.kv dd { margin-bottom: 6px; }
}
@media print { .scroll { overflow: visible; } thead th { position: static; } }
"""

# Sort a table by a column: click (or Enter on) a header button; numbers sort numerically
# through the cell's data-v attribute, text by locale order.
JS = """
(function () {
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var u = x.getAttribute("data-v"), v = y.getAttribute("data-v");
          var r = (u !== null && v !== null) ? parseFloat(u) - parseFloat(v)
                : x.textContent.localeCompare(y.textContent, undefined, {numeric: true});
          return asc ? r : -r;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mahalanobis {version}">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<main>
{body}
<footer>Made by mahalanobis {version}. This file is self-contained: it loads nothing from
the network.</footer>
</main>
<script>{js}</script>
</body>
</html>
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(x: Any, digits: int = 4) -> str:
    """A number for display: integers as they are, floats to ``digits`` significant digits."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(xf):
        return "–"
    if xf != 0 and (abs(xf) < 1e-3 or abs(xf) >= 1e6):
        return f"{xf:.{digits - 1}e}"
    return f"{xf:.{digits}g}" if abs(xf) >= 1 else f"{xf:.{digits}f}".rstrip("0").rstrip(".")


def kv(pairs: Iterable[tuple[str, Any]]) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{v if isinstance(v, Raw) else esc(fmt(v))}</dd>"
                    for k, v in pairs)
    return f'<dl class="kv">{items}</dl>'


class Raw(str):
    """Already-escaped HTML."""


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, sortable: bool = False,
          table_id: str | None = None, numeric_from: int = 1) -> str:
    """An HTML table; cells from column ``numeric_from`` on that hold numbers carry their value
    in data-v for sorting."""
    ths = "".join(f'<th scope="col"><button type="button">{esc(h)}</button></th>' if sortable
                  else f'<th scope="col">{esc(h)}</th>' for h in header)
    body = []
    for row in rows:
        cells = []
        for k, v in enumerate(row):
            if k >= numeric_from and isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<td data-v="{float(v)!r}">{esc(fmt(v))}</td>')
            else:
                cells.append(f"<td>{esc(fmt(v) if not isinstance(v, str) else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    attrs = (' class="sortable"' if sortable else "") + (f' id="{esc(table_id)}"'
                                                         if table_id else "")
    return (f'<div class="scroll"><table{attrs}><thead><tr>{ths}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


_SVG_HEAD = re.compile(r"^.*?(<svg\b)", re.S)
_SVG_META = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_SVG_SIZE = re.compile(r'(<svg\b[^>]*?)\s+width="[^"]*"\s+height="[^"]*"')


def inline_svg(svg: str, label: str) -> str:
    """matplotlib's SVG without the XML prolog, scaled to its container (the viewBox keeps the
    aspect ratio), with an accessible name."""
    svg = _SVG_HEAD.sub(r"\1", svg, count=1)
    svg = _SVG_SIZE.sub(r"\1", svg, count=1)
    svg = _SVG_META.sub("", svg, count=1)   # RDF creator metadata: namespace URLs, no content
    return svg.replace("<svg ", f'<svg role="img" aria-label="{esc(label)}" ', 1)


def page(title: str, body: str, version: str) -> str:
    return PAGE.format(title=esc(title), css=CSS, js=JS, body=body, version=esc(version))
