"""The HTML report without a browser: escaping, every block shown, nothing fetched."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from sustain.errors import MissingExtraError
from sustain.report.html import figure, to_html
from sustain.report.model import Chart, Column, Kind, Report, Section, Series, Table, Text
from tests.report.samples import CURVE, HOSTILE, OVER_TIME, sample_report


class _Page(HTMLParser):
    """The page's elements: each start tag with its attributes, and each element's text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[tuple[str, str]] = []
        self._open: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in {"meta", "br", "hr", "img", "link", "input"}:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append((self._open[-1] if self._open else "", data))

    def count(self, tag: str) -> int:
        return sum(t == tag for t, _ in self.tags)

    def texts(self, tag: str) -> list[str]:
        return [d for t, d in self.text if t == tag]


@pytest.fixture(scope="module")
def page() -> str:
    return to_html(sample_report(), made=datetime(2026, 12, 2, 9, 30, tzinfo=UTC))


def test_a_hostile_name_is_shown_as_text_never_as_markup(page: str) -> None:
    parsed = _Page(page)
    # plotly.js, the drawing script, and one figure per chart: no injected script
    assert parsed.count("script") == 2 + 2
    assert parsed.count("b") == 0
    assert "<script>alert" not in page
    assert HOSTILE in parsed.texts("td")
    assert HOSTILE in parsed.texts("strong")  # the intro's Markdown: **HOSTILE**


def test_every_block_is_shown(page: str) -> None:
    parsed = _Page(page)
    assert parsed.texts("title") == ["Evaluation of coalition-air-defence"]
    assert parsed.texts("h2") == ["Contents", "Fleets", "Items", "Plan"]
    assert "Made by sustain" in page and "2026-12-02 09:30 UTC" in page
    # Markdown text: emphasis, code, lists
    assert parsed.texts("em") == ["below"]
    assert parsed.texts("code") == ["3"]
    assert parsed.texts("li")[:2] == ["one", "two"]
    # typed cells, shown as their columns' kinds say
    cells = parsed.texts("td")
    for shown in ("51.2 %", "93.1 %", "1,250,000", "3.46", "n/a", "item-059", "0.017"):
        assert shown in cells
    assert parsed.texts("th")[:6] == ["system", "site", "systems", "availability",
                                      "backorders", "cost (EUR)"]
    assert parsed.texts("caption") == ["Availability per fleet", "Backorders per item"]
    numeric = [a for t, a in parsed.tags if t == "th" and a.get("class") == "num"]
    assert len(numeric) == 4 + 1
    # a rule under the third row (before the total)
    rows = [a for t, a in parsed.tags if t == "tr"]
    assert [n for n, a in enumerate(rows) if a.get("class") == "rule"] == [1 + 2]
    # one plot element per chart, each followed by its figure
    plots = [a for t, a in parsed.tags if t == "div" and a.get("class") == "plot"]
    assert [a["data-chart"] for a in plots] == ["over-time", "curve"]
    assert parsed.texts("figcaption") == ["Availability over time", "Efficient curve"]


def test_the_contents_link_to_every_section_and_titled_block(page: str) -> None:
    parsed = _Page(page)
    ids = [a["id"] for _, a in parsed.tags if a.get("id")]
    assert len(ids) == len(set(ids))
    links = [a["href"] for t, a in parsed.tags if t == "a"]
    assert links and all(h is not None and h.startswith("#") and h[1:] in ids for h in links)
    assert parsed.texts("a") == ["Fleets", "Availability per fleet", "Availability over time",
                                 "Items", "Backorders per item", "Plan", "Efficient curve"]


def test_the_page_refers_to_nothing_outside_itself(page: str) -> None:
    parsed = _Page(page)
    refs = [v for _, a in parsed.tags for k, v in a.items() if k in {"src", "href"}]
    assert all(v is not None and not re.match(r"\s*(https?:|//)", v, re.I) for v in refs)
    assert parsed.count("link") == 0  # no style sheet or font from elsewhere
    assert "@import" not in page and "url(" not in page.split("<script>")[0]
    # plotly.js inlined once
    assert page.count("<script>") == 2
    assert len(page) > 1_000_000


def test_markdown_text_cannot_make_the_page_fetch_anything() -> None:
    text = Text("![logo](https://example.com/logo.png) <img src=x onerror=alert(1)> "
                "[docs](javascript:alert(1))")
    parsed = _Page(to_html(Report("T", intro=(text,))))
    assert parsed.count("img") == 0
    assert [a.get("href") for t, a in parsed.tags if t == "a"] == []
    assert parsed.texts("p")[-1] == ("logo <img src=x onerror=alert(1)> "
                                     "[docs](javascript:alert(1))")


def test_a_report_without_charts_needs_no_plotly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly fails
    monkeypatch.setitem(sys.modules, "plotly.offline", None)
    table = Table("t", (Column("a"), Column("b", Kind.MONEY)), (("x", 1.0),))
    page = to_html(Report("No charts", intro=(Text("Hi."),), sections=(Section("S", (table,)),)))
    assert "<script" not in page
    assert len(page) < 20_000
    with pytest.raises(MissingExtraError, match=r"pip install 'sustain\[html\]'"):
        to_html(Report("Charts", sections=(Section("S", (CURVE,)),)))


def test_figure_draws_bands_markers_spans_and_levels() -> None:
    fig = figure(OVER_TIME)
    json.dumps(fig, allow_nan=False)  # valid JSON, no NaN
    traces = fig["data"]
    # the band of SAMX: high then low filled to it, its line, then the step series
    assert [t.get("fill") for t in traces] == [None, "tonexty", None, None]
    band_high, band_low, line, step = traces
    assert band_high["y"] == list(OVER_TIME.series[0].high)
    assert band_low["y"] == list(OVER_TIME.series[0].low)
    assert not band_low["showlegend"] and line["name"] == "SAMX"
    assert step["line"]["shape"] == "hv"
    assert step["name"] == ("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; "
                            "&lt;b&gt;bold&lt;/b&gt;")  # plotly shows entities as text
    layout = fig["layout"]
    assert layout["yaxis"]["tickformat"] == ".0%"
    assert layout["xaxis"]["title"]["text"] == "day"
    assert layout["yaxis"]["title"]["text"] == "availability"
    shapes = layout["shapes"]
    event, span, level = shapes
    assert (event["type"], event["x0"], event["x1"]) == ("line", 90.0, 90.0)
    assert (span["type"], span["x0"], span["x1"]) == ("rect", 200.0, 260.0)
    assert (level["y0"], level["y1"], level["line"]["dash"]) == (0.9, 0.9, "dash")
    assert [a["text"] for a in layout["annotations"]] == ["surge", "tempo", "target"]
    # the legend sits above the plotting area (paper y 0..1), not over the data, and
    # the tool bar stands upright in the right margin, not over the legend's end
    assert layout["legend"]["y"] >= 1 and layout["legend"]["yanchor"] == "bottom"
    assert layout["modebar"]["orientation"] == "v" and layout["margin"]["r"] >= 40


def test_figure_of_bars_markers_and_gaps() -> None:
    chart = Chart("c", "t", "month", "rounds (k)",
                  (Series("a", (1.0, 2.0), (float("nan"), 2.0), style="bar"),
                   Series("b", (1.0, 2.0), (None, 1.0), style="markers")))
    bars, dots = figure(chart)["data"]
    assert bars["type"] == "bar" and bars["y"] == [None, 2.0]
    assert dots["mode"] == "markers" and dots["y"] == [None, 1.0]
    assert "tickformat" not in figure(chart)["layout"]["yaxis"]
    assert dots["hovertemplate"].startswith("%{x}: %{y:,.5~r}")  # 700,000, not 7e+5


def test_a_categorical_axis_names_its_positions() -> None:
    chart = Chart("a", "Availability per fleet", "fleet", "availability",
                  (Series("availability", (0.0, 1.0, 2.0), (0.5, 0.9, None), style="bar"),),
                  y_kind=Kind.PERCENT, x_labels=("SAMX @ EAST", "HOW155 @ WEST", "<x>"))
    fig = figure(chart)
    axis = fig["layout"]["xaxis"]
    assert axis["tickvals"] == [0, 1, 2]
    assert axis["ticktext"] == ["SAMX @ EAST", "HOW155 @ WEST", "&lt;x&gt;"]
    (bars,) = fig["data"]
    assert bars["customdata"] == axis["ticktext"]
    assert bars["hovertemplate"].startswith("%{customdata}: %{y:.1%}")


def test_close_event_labels_take_separate_rows() -> None:
    """A delivery on day 182 and a tempo window from day 240 on a 730-day axis: the
    delivery's label (about 130 days wide at that scale) would run into the window's,
    so the window's goes one row down; the next event, far enough on, is back on top."""
    from sustain.report.model import Marker

    chart = Chart(
        name="c", title="c", x_title="day", y_title="availability", y_kind=Kind.PERCENT,
        series=(Series("S", (0.0, 730.0), (0.5, 0.6)),),
        markers=(Marker(182.0, "8 IFV delivered to SOUTH"),
                 Marker(240.0, "tempo × 1.5 (at EAST)", 330.0),
                 Marker(365.0, "8 IFV delivered to SOUTH")),
    )
    ys = [a["y"] for a in figure(chart)["layout"]["annotations"]]
    assert ys[0] == ys[2] == 1
    assert ys[1] < 1


def test_a_level_of_a_series_takes_its_colour() -> None:
    """Two donors' stocks with their floors: each floor is drawn in its donor's colour
    (the series' line colour), a level of no series in the level colour."""
    x = (0.0, 1.0)
    chart = Chart("s", "t", "month", "units",
                  (Series("DE stock", x, (5.0, 4.0)), Series("FR stock", x, (6.0, 3.0))),
                  levels=((2.0, "DE floor"), (1.0, "FR floor"), (3.0, "target")),
                  level_series=(0, 1, -1))
    fig = figure(chart)
    colours = [t["line"]["color"] for t in fig["data"]]
    assert colours[0] != colours[1]
    floors = [s["line"]["color"] for s in fig["layout"]["shapes"]]
    assert floors[:2] == colours
    assert floors[2] not in colours
    assert [a["font"]["color"] for a in fig["layout"]["annotations"]] == floors
