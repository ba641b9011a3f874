"""The HTML report in a real browser: Debian's headless Chromium, driven by Playwright.

The page is opened from a file with every request watched: it renders (title,
headings, tables), each chart holds a plotly plot with the chart's data, the console
stays free of errors, nothing is fetched from outside the file, and a screenshot
shows the drawing.  Playwright never downloads a browser here: it launches
``/usr/bin/chromium`` (``make test`` installs it), and the test skips without it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sustain.report.html import PALETTE, to_html
from tests.report.samples import CURVE, FLEETS, HOSTILE, OVER_TIME, sample_report

CHROMIUM = Path("/usr/bin/chromium")
#: No first-run work, no background traffic (updates, sync, QUIC probes), no GPU.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium; `make test` installs it)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) missing")
Image = pytest.importorskip("PIL.Image", reason="Pillow (with matplotlib) missing")


@dataclass
class Opened:
    """The page once drawn, with what happened while it loaded."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opened]:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(to_html(sample_report()), encoding="utf-8")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            out = Opened(page)
            page.on("console", lambda m: out.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: out.errors.append(str(e)))
            page.on("request", lambda r: out.requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg')"
                                   ".length >= 2", timeout=20_000)
            yield out
        finally:
            browser.close()


def test_the_page_renders_its_title_headings_and_tables(opened: Opened) -> None:
    page = opened.page
    assert page.title() == "Evaluation of coalition-air-defence"
    assert page.locator("h1").inner_text() == "Evaluation of coalition-air-defence"
    assert page.locator("section > h2").all_inner_texts() == ["Fleets", "Items", "Plan"]
    rows = "#table-availability-per-fleet tbody tr"
    cells = page.evaluate(f"""[...document.querySelectorAll('{rows}')]
        .map(r => [...r.cells].map(c => c.textContent))""")
    assert cells == FLEETS.text_rows()
    assert cells[2][0] == HOSTILE  # shown as text, not run
    assert page.evaluate("document.scripts.length") == 2 + 2  # plotly.js, drawing, 2 figures
    align = page.evaluate("getComputedStyle(document.querySelector('td.num')).textAlign")
    assert align == "right"


def test_each_chart_holds_a_plotly_plot_with_its_data(opened: Opened) -> None:
    page = opened.page
    assert page.evaluate("document.querySelectorAll('.js-plotly-plot').length") == 2
    lengths = page.evaluate("""[...document.querySelectorAll('.js-plotly-plot')]
        .map(d => d.data.map(t => t.y.length))""")
    days = len(OVER_TIME.series[0].x)
    assert lengths == [[days] * 4, [len(s.y) for s in CURVE.series]]
    # drawn, not only given: the SVG holds the traces, the y ticks are percentages
    drawn = page.evaluate("""[...document.querySelectorAll('.js-plotly-plot')]
        .map(d => d.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length)""")
    assert drawn == [4, 2]
    chart = "#chart-availability-over-time"
    ticks = page.locator(f"{chart} .ytick text").all_text_contents()
    assert ticks and all(t.endswith("%") for t in ticks)
    assert page.locator(f"{chart} .xtitle").text_content() == "day"
    assert page.locator(f"{chart} .legendtext").all_text_contents() == ["SAMX", HOSTILE]


def test_the_console_has_no_errors_and_nothing_leaves_the_file(opened: Opened) -> None:
    assert opened.errors == []
    assert opened.requests and all(u.startswith(("file://", "data:", "blob:"))
                                   for u in opened.requests)


def test_a_screenshot_shows_the_drawing(opened: Opened) -> None:
    whole = Image.open(io.BytesIO(opened.page.screenshot(full_page=True))).convert("RGB")
    assert len(whole.getcolors(maxcolors=1 << 20) or ()) > 50  # not one colour
    chart = opened.page.locator("#chart-availability-over-time .plot").screenshot()
    colours = {c for _, c in Image.open(io.BytesIO(chart)).convert("RGB").getcolors(1 << 20)}
    line = tuple(int(PALETTE[0][i:i + 2], 16) for i in (1, 3, 5))
    assert line in colours  # the first series' line is on screen
