"""A report as one self-contained HTML page: text, tables and interactive charts.

The page needs nothing but itself: the style sheet is inline, and the charts are
drawn by plotly.js (extra ``html``: the ``plotly`` package), whose bundle is
inlined once per page, so the file opens offline and never fetches anything.  A
report without charts needs no plotly and holds no script.

Text blocks are Markdown rendered by markdown-it (raw HTML in them is escaped, as
every title, heading and cell is); tables show their typed cells as
:func:`~sustain.report.model.show` gives them, numbers aligned right; each chart
becomes one plotly figure built from the chart's data (:func:`figure`).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from sustain.errors import MissingExtraError
from sustain.report.model import (
    Block,
    Chart,
    Kind,
    Marker,
    Report,
    Series,
    Table,
    Text,
)

#: Line colours of the series, in order (plotly's default colour way, D3's category 10).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
#: Right margin (px) that holds the upright plotly tool bar.
MODEBAR_MARGIN = 44
#: Colour of a level (a target line) that belongs to no series.
LEVEL_COLOUR = "#c0392b"
#: Opacity of the filled band (low to high) drawn behind a series.
BAND_OPACITY = 0.2
#: A table with more rows than this scrolls in its own box under a fixed header.
LONG_TABLE_ROWS = 30

_STYLE = """
:root { --ink: #1b1f24; --muted: #5b6470; --rule: #d0d7de; --head: #f3f5f7;
        --accent: #1f77b4; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
       Arial, sans-serif; color: var(--ink); margin: 0 auto; max-width: 72rem;
       padding: 1.5rem 2rem 4rem; }
header { border-bottom: 2px solid var(--accent); margin-bottom: 1rem; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
.made { color: var(--muted); font-size: .85rem; margin: 0 0 .75rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem;
     border-bottom: 1px solid var(--rule); }
h3, h4 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
nav.toc { background: var(--head); border: 1px solid var(--rule); border-radius: 6px;
          padding: .6rem 1.2rem; margin: 1rem 0 1.5rem; font-size: .9rem; }
nav.toc h2 { font-size: 1rem; border: 0; margin: 0 0 .3rem; padding: 0; }
nav.toc ol { margin: 0; padding-left: 1.3rem; }
nav.toc ul { margin: 0; padding-left: 1.1rem; list-style: circle; color: var(--muted); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: var(--head); padding: 0 .2em; border-radius: 3px; }
.table-box { overflow-x: auto; margin: .6rem 0 1.2rem; }
.table-box.long { max-height: 75vh; overflow-y: auto; border: 1px solid var(--rule);
                 width: fit-content; max-width: 100%; }
table.data { border-collapse: collapse; font-size: .88rem; min-width: 20rem; }
table.data caption { text-align: left; font-weight: 600; padding: .2rem 0 .4rem;
                     caption-side: top; }
table.data th, table.data td { padding: .3rem .7rem; border-bottom: 1px solid var(--rule);
                               vertical-align: top; }
table.data th { background: var(--head); text-align: left; font-weight: 600;
                position: sticky; top: 0; z-index: 1; box-shadow: 0 1px 0 var(--rule); }
table.data .num { text-align: right; font-variant-numeric: tabular-nums;
                  white-space: nowrap; }
table.data tbody tr:nth-child(even) { background: #fafbfc; }
table.data tbody tr:hover { background: #eef4fb; }
table.data tr.rule td { border-bottom: 2px solid var(--muted); }
table.data td.na { color: var(--muted); }
figure.chart { margin: 1rem 0 1.6rem; page-break-inside: avoid; break-inside: avoid; }
figure.chart figcaption { font-weight: 600; margin-bottom: .3rem; }
figure.chart .plot { width: 100%; height: 26rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem;
         border-top: 1px solid var(--rule); padding-top: .5rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav.toc { display: none; }
  .table-box, .table-box.long { max-height: none; overflow: visible; border: 0; }
  table.data th { position: static; }
  table.data tbody tr:nth-child(even), table.data tbody tr:hover { background: none; }
  h2 { page-break-after: avoid; break-after: avoid; }
  a { color: inherit; }
}
"""

#: Drawn after plotly.js: each chart's figure (JSON in its own script element) plotted
#: into the element before it.
_DRAW = """
document.querySelectorAll("script.figure").forEach(function (node) {
  var fig = JSON.parse(node.textContent);
  Plotly.newPlot(node.previousElementSibling, fig.data, fig.layout, fig.config);
});
"""


def _markdown() -> MarkdownIt:
    """CommonMark with tables; raw HTML is shown as text, never passed through, and an
    image as its description (an image would be fetched from its address)."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.add_render_rule("image", _image_as_text)
    return md


def _image_as_text(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
    return _e(tokens[idx].content)


class _Ids:
    """Unique element ids made from titles (``Fleets`` → ``fleets``, then ``fleets-2``)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(self, title: str, prefix: str = "") -> str:
        stem = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "part"
        stem = prefix + stem
        n = self._seen.get(stem, 0) + 1
        self._seen[stem] = n
        return stem if n == 1 else f"{stem}-{n}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


# -- tables ---------------------------------------------------------------------------


def table_html(table: Table, element_id: str = "") -> str:
    """One table: typed cells shown as text, numeric columns aligned right."""
    num = ' class="num"'
    heads = "".join(f'<th scope="col"{num if c.numeric else ""}>{_e(c.heading)}</th>'
                    for c in table.columns)
    rows = []
    rules = set(table.rules)
    for n, (cells, texts) in enumerate(zip(table.rows, table.text_rows(), strict=True)):
        tds = []
        for value, text, column in zip(cells, texts, table.columns, strict=True):
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            classes = [name for name, on in (("num", column.numeric), ("na", missing)) if on]
            cls = f' class="{" ".join(classes)}"' if classes else ""
            tds.append(f"<td{cls}>{_e(text)}</td>")
        row_class = ' class="rule"' if n in rules else ""
        rows.append(f"<tr{row_class}>{''.join(tds)}</tr>")
    caption = f"<caption>{_e(table.title)}</caption>" if table.title else ""
    box = "table-box long" if len(table.rows) > LONG_TABLE_ROWS else "table-box"
    ident = f' id="{element_id}"' if element_id else ""
    return (f'<div class="{box}"><table class="data"{ident}>{caption}'
            f"<thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


# -- charts ---------------------------------------------------------------------------


def _finite(values: Sequence[float | None]) -> list[float | None]:
    """JSON-safe values: a missing or non-finite value is a gap (``null``)."""
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _rgba(colour: str, opacity: float) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{opacity})"


def _series_traces(series: Series, colour: str, percent: bool,
                   x_labels: Sequence[str]) -> list[dict[str, Any]]:
    """The plotly traces of one series: its band (if any) first, then its line."""
    x = _finite(series.x)
    # 700,000 rather than 7e+5 on hover: five significant digits, never an exponent
    y_format = "%{y:.1%}" if percent else "%{y:,.5~r}"
    x_format = "%{x}"
    extra: dict[str, Any] = {}
    if x_labels:  # hover shows the name of the position, not its number
        extra["customdata"] = [_e(_label_at(x_labels, v)) for v in x]
        x_format = "%{customdata}"
    traces: list[dict[str, Any]] = []
    if series.low is not None and series.high is not None:
        edge = {"type": "scatter", "mode": "lines", "x": x, "line": {"width": 0},
                "legendgroup": series.name, "showlegend": False, "hoverinfo": "skip"}
        if series.style == "step":
            edge["line"] = {"width": 0, "shape": "hv"}
        traces.append({**edge, "y": _finite(series.high), "name": _e(f"{series.name} (high)")})
        traces.append({**edge, "y": _finite(series.low), "name": _e(f"{series.name} (low)"),
                       "fill": "tonexty", "fillcolor": _rgba(colour, BAND_OPACITY)})
    trace: dict[str, Any] = {"name": _e(series.name), "x": x, "y": _finite(series.y),
                             "legendgroup": series.name, **extra,
                             "hovertemplate": f"{x_format}: {y_format}"
                                              "<extra>%{fullData.name}</extra>"}
    if series.style == "bar":
        trace |= {"type": "bar", "marker": {"color": colour}}
    elif series.style == "markers":
        trace |= {"type": "scatter", "mode": "markers", "marker": {"color": colour, "size": 7}}
    else:
        line: dict[str, Any] = {"color": colour, "width": 2}
        if series.style == "step":
            line["shape"] = "hv"
        trace |= {"type": "scatter", "mode": "lines", "line": line}
    traces.append(trace)
    return traces


def _label_at(labels: Sequence[str], x: float | None) -> str:
    """The name of categorical position ``x`` (blank between or beyond the names)."""
    if x is None or not float(x).is_integer() or not 0 <= x < len(labels):
        return ""
    return labels[int(x)]


#: Width of one character of a marker's label as a share of the plot's width (11 px
#: text, about 6.5 px a character, on a plot about 1,000 px wide), to keep labels apart.
LABEL_CHAR_SHARE = 0.0075
#: Paper height between two rows of marker labels.
LABEL_ROW_STEP = 0.07


def _label_rows(markers: Sequence[Marker], span: float) -> list[int]:
    """A row per marker label (0 at the top): each takes the first row where it starts
    after the end of the label before it, so close events' labels do not overprint."""
    ends: list[float] = []
    rows = []
    for marker in markers:
        row = next((n for n, end in enumerate(ends) if marker.x > end), len(ends))
        end = marker.x + len(marker.label) * LABEL_CHAR_SHARE * span
        if row == len(ends):
            ends.append(end)
        else:
            ends[row] = end
        rows.append(row)
    return rows


def _marker_shapes(markers: Sequence[Marker], span: float = 0.0
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Events as dotted vertical lines, spans as shaded rectangles, each labelled (in
    rows, when the labels of close events would overprint on an x axis ``span`` long)."""
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for marker, row in zip(markers, _label_rows(markers, span), strict=True):
        if marker.x1 is None:
            shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": marker.x,
                           "x1": marker.x, "y0": 0, "y1": 1, "layer": "above",
                           "line": {"color": "#555", "width": 1, "dash": "dot"}})
        else:
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": marker.x,
                           "x1": marker.x1, "y0": 0, "y1": 1, "layer": "below",
                           "fillcolor": "rgba(120,120,120,0.15)", "line": {"width": 0}})
        notes.append({"x": marker.x, "xref": "x", "y": 1 - row * LABEL_ROW_STEP,
                      "yref": "paper", "yanchor": "top",
                      "xanchor": "left", "text": _e(marker.label), "showarrow": False,
                      "textangle": 0, "font": {"size": 11, "color": "#444"},
                      "bgcolor": "rgba(255,255,255,0.7)"})
    return shapes, notes


def figure(chart: Chart) -> dict[str, Any]:
    """The plotly figure (``data``, ``layout``, ``config``) that draws ``chart``.

    Series are lines (``step``: held until the next x), bars or markers, each with
    its ``low``–``high`` band filled behind it; markers are dotted vertical lines
    (spans shaded), levels dashed horizontal lines; a ``percent`` y axis is shown in
    per cent.  The legend sits above the plotting area, never over the data.
    """
    percent = chart.y_kind is Kind.PERCENT
    data: list[dict[str, Any]] = []
    for n, series in enumerate(chart.series):
        data += _series_traces(series, PALETTE[n % len(PALETTE)], percent, chart.x_labels)
    xs = [x for series in chart.series for x in series.x]
    xs += [x for m in chart.markers for x in (m.x, m.x1) if x is not None]
    shapes, notes = _marker_shapes(chart.markers, max(xs) - min(xs) if xs else 0.0)
    for n, (y, label) in enumerate(chart.levels):
        owner = chart.level_series[n] if n < len(chart.level_series) else -1
        colour = LEVEL_COLOUR if owner < 0 else PALETTE[owner % len(PALETTE)]
        shapes.append({"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1,
                       "y0": y, "y1": y, "layer": "above",
                       "line": {"color": colour, "width": 1.5, "dash": "dash"}})
        notes.append({"x": 1, "xref": "paper", "y": y, "yref": "y", "xanchor": "right",
                      "yanchor": "bottom", "text": _e(label),
                      "showarrow": False, "font": {"size": 11, "color": colour}})
    y_axis: dict[str, Any] = {"title": {"text": _e(chart.y_title)}, "zeroline": False,
                              "gridcolor": "#e5e8eb", "automargin": True}
    if percent:
        y_axis |= {"tickformat": ".0%", "hoverformat": ".1%"}
    x_axis: dict[str, Any] = {"title": {"text": _e(chart.x_title)}, "gridcolor": "#e5e8eb",
                              "zeroline": False, "automargin": True}
    if chart.x_labels:  # a categorical axis: position n is named x_labels[n]
        x_axis |= {"tickmode": "array", "tickvals": list(range(len(chart.x_labels))),
                   "ticktext": [_e(t) for t in chart.x_labels]}
    layout = {
        "xaxis": x_axis,
        "yaxis": y_axis,
        "shapes": shapes,
        "annotations": notes,
        "showlegend": len(chart.series) > 1,
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02,
                   "yanchor": "bottom"},
        # the tool bar stands upright in the right margin, clear of the legend above
        "modebar": {"orientation": "v"},
        "margin": {"l": 60, "r": MODEBAR_MARGIN, "t": 40, "b": 50},
        "hovermode": "closest",
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "barmode": "group",
        "font": {"family": "system-ui, sans-serif", "size": 12},
    }
    config = {"responsive": True, "displaylogo": False, "showLink": False,
              "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
    return {"data": data, "layout": layout, "config": config}


def _script_json(value: Any) -> str:
    """JSON that cannot close the script element it sits in (``</script>``)."""
    text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def chart_html(chart: Chart, element_id: str = "") -> str:
    """The chart's place on the page: a caption, the plot's element and its figure."""
    ident = f' id="{element_id}"' if element_id else ""
    return (f'<figure class="chart"{ident}><figcaption>{_e(chart.title)}</figcaption>'
            f'<div class="plot" data-chart="{_e(chart.name)}"></div>'
            f'<script type="application/json" class="figure">{_script_json(figure(chart))}'
            "</script></figure>")


def plotly_js(what: str = "HTML report charts") -> str:
    """plotly.js, minified, from the ``plotly`` package (extra ``html``).

    Raises
    ------
    MissingExtraError
        plotly is not installed (``pip install 'sustain[html]'``).
    """
    try:
        # Imported here: plotly is an optional extra, needed only by a report with charts.
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise MissingExtraError(what, "html") from None
    return str(get_plotlyjs())


# -- the page -------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("sustain")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def _block_html(block: Block, md: MarkdownIt, element_id: str) -> str:
    if isinstance(block, Text):
        return str(md.render(block.markdown))
    if isinstance(block, Table):
        return table_html(block, element_id)
    return chart_html(block, element_id)


def _block_id(block: Block, ids: _Ids) -> str:
    """The id of a table or chart (an anchor of the contents); none for text."""
    if isinstance(block, Table):
        return ids(block.title or block.name, "table-")
    if isinstance(block, Chart):
        return ids(block.title or block.name, "chart-")
    return ""


def _contents(entries: list[tuple[str, str, list[tuple[str, str]]]]) -> str:
    """The table of contents: each section, and under it its titled tables and charts."""
    items = []
    for ident, title, inner in entries:
        subs = "".join(f'<li><a href="#{i}">{_e(t)}</a></li>' for i, t in inner if t)
        items.append(f'<li><a href="#{ident}">{_e(title)}</a>'
                     f'{f"<ul>{subs}</ul>" if subs else ""}</li>')
    return f'<nav class="toc" id="contents"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def to_html(report: Report, *, made: datetime | None = None) -> str:
    """The report as one self-contained HTML page (no network: styles and scripts inline).

    Parameters
    ----------
    report
        What to show.
    made
        The time printed in the page's header; now (UTC) by default.

    Raises
    ------
    MissingExtraError
        The report has charts and plotly (extra ``html``) is not installed.
    """
    script = f"<script>{plotly_js()}</script>\n<script>{_DRAW}</script>" if report.charts() else ""
    md = _markdown()
    ids = _Ids()
    ids("contents")  # the table of contents' own id
    intro = [_block_html(b, md, _block_id(b, ids)) for b in report.intro]
    entries: list[tuple[str, str, list[tuple[str, str]]]] = []
    body: list[str] = []
    for section in report.sections:
        ident = ids(section.title)
        inner: list[tuple[str, str]] = []
        parts = [f'<section id="{ident}">', f"<h2>{_e(section.title)}</h2>"]
        for block in section.blocks:
            if isinstance(block, Table) and not block.in_text:
                continue  # data only: in CSV and spreadsheets
            block_id = _block_id(block, ids)
            if block_id:
                inner.append((block_id, block.title))  # type: ignore[union-attr]
            parts.append(_block_html(block, md, block_id))
        entries.append((ident, section.title, inner))
        body.append("\n".join([*parts, "</section>"]))
    when = (made or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    version = _e(_version())
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="sustain {version}">',
        f"<title>{_e(report.title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{_e(report.title)}</h1>",
        f'<p class="made">Made by sustain {version} on {when}</p></header>',
        *intro,
        _contents(entries) if entries else "",
        *body,
        f"<footer>Made by sustain {version} on {when}</footer>",
        script,
        "</body>",
        "</html>",
        "",
    ])
