"""The browser pages end to end: Debian's headless Chromium, driven by Playwright, against
``sustain serve``'s app on a free loopback port.

A planner uploads the worked example with one deliberately broken cell (a negative
MTBF in its items table), sees the scenario check's message at that cell, fixes it,
saves a new version, optimises for 0.8, sees the report's charts drawn with data, and
downloads the stock plan: it is the file ``sustain optimize … -t 0.8 -o plan.csv``
writes for the original example, byte for byte.  On failure a screenshot is written
and its path given in the message.  Playwright never downloads a browser here: it
launches ``/usr/bin/chromium`` (``make test`` installs it), and the test skips without it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sustain.web.app import Settings, create_app
from tests.web.conftest import EXAMPLES

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCENARIO = EXAMPLES / "coalition-air-defence.yaml"
ITEMS = EXAMPLES / "coalition-air-defence-items.csv"
#: The target of the optimisation: a plan of some 46 purchases with the default options
#: (the search included); at 0.9 the same run takes twice the processor time (12 s
#: against 5 s), spent twice over, by the server and by the command line beside it.
TARGET = "0.8"
#: Longest wait (ms) for the optimisation of the worked example (seconds when alone).
RUN_WAIT_MS = 120_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium; `make test` installs it)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) missing")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn (web extra) missing")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free loopback port; its base URL."""
    port = _free_port()
    app = create_app(Settings(data_dir=tmp_path / "data"))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > end or not thread.is_alive():
            pytest.fail("the server did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


def test_upload_fix_a_cell_optimise_and_download_the_plan(server: str, tmp_path: Path) -> None:
    # The command line's plan of the original example, made while the browser works.
    cli_plan = tmp_path / "plan.csv"
    cli = subprocess.Popen(
        [str(Path(sys.executable).with_name("sustain")), "optimize", str(SCENARIO),
         "-t", TARGET, "-q", "-o", str(cli_plan)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / SCENARIO.name).write_bytes(SCENARIO.read_bytes())
    items = ITEMS.read_text(encoding="utf-8")
    broken = items.replace(",1500,", ",-1500,", 1)
    assert broken != items
    (upload / ITEMS.name).write_text(broken, encoding="utf-8")
    shots = Path(tempfile.mkdtemp(prefix="sustain-browser-"))

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(f"{server}/scenarios")
            page.set_input_files("#upload input[type=file]",
                                 [str(upload / SCENARIO.name), str(upload / ITEMS.name)])
            page.fill("#upload input[name=name]", "Worked example")
            page.click("#upload-button")
            page.wait_for_url("**/scenarios/*")
            problems = page.locator("#problems")
            assert "1 problem in version 1" in problems.inner_text()
            assert "must be >= 0.01: got -1500" in problems.inner_text()
            # The message sits at the cell it names: items row 1, mtbf_hours.
            bad = page.locator("td.bad")
            assert bad.count() == 1
            cell = bad.locator("input")
            assert cell.get_attribute("name") == "c|items|0|mtbf_hours"
            assert cell.input_value() == "-1500"
            assert "must be >= 0.01" in bad.locator(".msg").inner_text()
            assert page.locator("#run-optimize").count() == 0  # no runs on a broken version

            cell.fill("1500")
            page.fill("input[name=note]", "MTBF of the transmitter fixed")
            page.click("#save")
            page.wait_for_load_state()
            assert page.locator("#version").inner_text() == "2"
            assert "passes the scenario check" in page.locator("#problems").inner_text()
            assert page.locator("td.bad").count() == 0

            page.fill("#target", TARGET)
            page.click("#run-optimize")
            page.wait_for_url("**/runs/*")
            page.wait_for_selector("iframe#report", timeout=RUN_WAIT_MS)
            report = page.frame_locator("iframe#report")
            report.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=20_000)
            frame = page.frame_locator("iframe#report").locator("body")
            points = frame.evaluate(
                "b => Array.from(b.querySelectorAll('.js-plotly-plot')).map("
                "p => p.data.reduce((n, t) => n + (t.y || []).length, 0))")
            assert points and all(n > 0 for n in points), points
            traces = report.locator(".js-plotly-plot .scatterlayer .trace")
            assert traces.count() > 0

            with page.expect_download() as wait:
                page.click("a[href$='/download/csv']")
            got = Path(wait.value.path()).read_text(encoding="utf-8")
            assert errors == []
        except Exception as exc:
            shot = shots / "failure.png"
            page.screenshot(path=str(shot), full_page=True)
            raise AssertionError(f"{exc} (screenshot of the page: {shot})") from exc
        finally:
            browser.close()

    _, err = cli.communicate(timeout=300)
    assert cli.returncode == 0, err.decode()
    expected = cli_plan.read_text(encoding="utf-8")
    assert expected.startswith("item,site,held,buy,qty,unit_cost,cost\n")
    assert got == expected
