"""The browser pages under FastAPI's TestClient: the scenario library and its versions,
messages at cells, uploads (zip included), runs from a page, downloads written by the
command line's writers, deleting, comparing."""

from __future__ import annotations

import dataclasses
import html
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sustain.cli.common import check_optimize_options
from sustain.cli.main import app as cli
from sustain.errors import SustainError
from sustain.scenario import load_scenario
from sustain.web import editor
from sustain.web.pages import edited_sheets
from tests.web.conftest import EXAMPLES, Client, finished, wait_for

RAIL = "rail-two-echelon.yaml"


def _fields(page: str) -> dict[str, str]:
    """The editor form's fields as the page fills them (cells, settings, version)."""
    fields = {html.unescape(k): html.unescape(v)
              for k, v in re.findall(r'<input name="(c\|[^"]+)" value="([^"]*)"', page)}
    rest = re.search(r'<textarea name="rest"[^>]*>(.*?)</textarea>', page, re.S)
    if rest is not None:
        fields["rest"] = html.unescape(rest.group(1))
    fields["v"] = re.search(r'id="version">(\d+)<', page).group(1)  # type: ignore[union-attr]
    return fields


def _unstamped(page: str) -> str:
    return re.sub(r'<p class="made">.*?</p>', "", page, flags=re.S)


def _from_example(client: TestClient, name: str = RAIL) -> str:
    answer = client.post("/scenarios/example", data={"example": name},
                         follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])


def _run(client: TestClient, where: str, **form: str) -> str:
    answer = client.post(f"{where}/run", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    run_id = str(answer.headers["location"]).rsplit("/", 1)[1]
    status = wait_for(client, run_id, finished)
    assert status["status"] == "done", status
    return run_id


def test_a_saved_edit_is_a_new_version_and_the_first_stays(client: TestClient,
                                                           tmp_path: Path) -> None:
    where = _from_example(client)
    page = client.get(where).text
    assert "passes the scenario check" in page
    fields = _fields(page)
    # The rail example's stock row 1 is TRAC-MOTOR at WORKS, qty 2.
    assert (fields["c|stock|0|item"], fields["c|stock|0|qty"]) == ("TRAC-MOTOR", "2")
    fields["c|stock|0|qty"] = "5"
    fields["c|stock|1|item"] = ""  # a cell emptied: the key is left out (an error)
    fields["d|stock|2"] = "on"  # PANTO at WORKS deleted
    assert client.post(f"{where}/save", data=fields, follow_redirects=False).status_code == 303
    edited = client.get(where).text
    assert 'id="version">2<' in edited
    # The emptied cell: the check's message (a missing key) sits at that cell.
    assert re.search(r'<td class="bad"><input name="c\|stock\|1\|item" value=""[^>]*>'
                     r'<div class="msg err">[^<]+</div>', edited)

    first = client.get(f"{where}/download?v=1")
    assert first.content == (EXAMPLES / RAIL).read_bytes()
    fields = _fields(edited)
    fields["c|stock|1|item"] = "TRAC-CONV"
    client.post(f"{where}/save", data=fields)
    third = client.get(f"{where}/download?v=3")
    assert "attachment" in third.headers["content-disposition"]
    (tmp_path / "v3.yaml").write_bytes(third.content)
    original = load_scenario(EXAMPLES / RAIL)
    got = load_scenario(tmp_path / "v3.yaml")
    held = {(s.item, s.site): s.qty for s in got.stock}
    before = {(s.item, s.site): s.qty for s in original.stock}
    assert held[("TRAC-MOTOR", "WORKS")] == 5
    assert ("PANTO", "WORKS") not in held
    assert {k: v for k, v in held.items() if k != ("TRAC-MOTOR", "WORKS")} == {
        k: v for k, v in before.items() if k not in (("TRAC-MOTOR", "WORKS"),
                                                     ("PANTO", "WORKS"))}
    assert got.items == original.items and got.fleets == original.fleets


def test_the_checks_messages_sit_at_the_cells_they_name(tmp_path: Path) -> None:
    text = (EXAMPLES / RAIL).read_text(encoding="utf-8")
    text = text.replace("mtbf_hours: 15000", "mtbf_hours: -3", 1)
    text = text.replace("{item: HVAC, site: WORKS, qty: 3}", "{item: HVAC, site: WEST, qty: 3}")
    files = (("rail.yaml", text.encode()),)
    error = editor.check(files, tmp_path)
    assert error is not None and error.total == 2
    placed = editor.place_issues(error.issues, editor.open_version(files, tmp_path))
    assert set(placed.cells) == {("items", 1, "mtbf_hours"), ("stock", 3, "site")}
    assert placed.other == [] and placed.rows == {}
    # A table file: its messages name a file row, placed on the same cell.
    items = "id,unit_cost,mtbf_hours,installed_in,depot_repair_days\n" \
            "A,100,500,EMU4:1,10\nB,-7,500,EMU4:1,10\n"
    head = text.split("\nitems:")[0].replace("mtbf_hours: -3", "mtbf_hours: 3")
    scenario = head + "items: {file: items.csv}\n"
    files = (("rail.yaml", scenario.encode()), ("items.csv", items.encode()))
    error = editor.check(files, tmp_path)
    assert error is not None
    assert [i.where for i in error.issues] == ["items.csv row 3"]
    placed = editor.place_issues(error.issues, editor.open_version(files, tmp_path))
    assert set(placed.cells) == {("items", 1, "unit_cost")}


def test_a_zip_upload_and_refused_uploads(client: TestClient) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(EXAMPLES / "coalition-air-defence.yaml", "air/coalition-air-defence.yaml")
        z.write(EXAMPLES / "coalition-air-defence-items.csv",
                "air/coalition-air-defence-items.csv")
    answer = client.post("/scenarios", files=[("files", ("air.zip", buf.getvalue()))],
                         follow_redirects=False)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "passes the scenario check" in page
    assert "(from coalition-air-defence-items.csv)" in page

    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("s.yaml", b"name: x\n")
        z.writestr("../items.csv", b"id\n")
    refused = client.post("/scenarios", files=[("files", ("bad.zip", bad.getvalue()))])
    assert refused.status_code == 422
    assert "must be a relative path inside the upload" in refused.text
    two = client.post("/scenarios", files=[("files", ("a.yaml", b"x: 1\n")),
                                           ("files", ("b.yaml", b"x: 1\n"))])
    assert two.status_code == 422 and "2 scenario files" in two.text
    assert client.post("/scenarios", files=[("files", ("a.zip", b"no zip"))]).status_code == 422
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("s.yaml", b"name: x\n" * 100)
    data = bytearray(damaged.getvalue())
    data[data.find(b"s.yaml") + 12] ^= 0xFF  # a byte of the compressed data
    answer = client.post("/scenarios", files=[("files", ("d.zip", bytes(data)))])
    assert answer.status_code == 422 and "zip member &#x27;s.yaml&#x27; cannot be read" in \
        answer.text


def test_a_missing_table_file_is_named_as_uploaded(client: TestClient) -> None:
    """The scenario without its items table: the page names the file the scenario
    asks for, not the server's folder the upload was checked in."""
    answer = client.post("/scenarios", files=[(
        "files", ("air.yaml", (EXAMPLES / "coalition-air-defence.yaml").read_bytes()))],
        follow_redirects=False)
    page = client.get(answer.headers["location"]).text if answer.status_code == 303 \
        else answer.text
    assert "not found (looked for coalition-air-defence-items.csv)" in page
    assert "/tmp" not in page and "uploads" not in page


def test_deleting_keeps_runs(client: TestClient) -> None:
    unused = _from_example(client)
    assert client.post(f"{unused}/delete", follow_redirects=False).status_code == 303
    assert client.get(unused).status_code == 404
    used = _from_example(client)
    run_id = _run(client, used, v="1", kind="evaluate", method="vari-metric")
    refused = client.post(f"{used}/delete")
    assert refused.status_code == 409
    assert "runs are never deleted with their scenario" in refused.text
    assert client.get(used).status_code == 200
    assert client.get(f"/api/runs/{run_id}").json()["status"] == "done"


@pytest.mark.parametrize(("form", "cli_args"), [
    ({"target": "1.5"}, (["1.5"], None)),
    ({"budget": "-5"}, (None, -5.0)),
])
def test_bad_run_options_get_the_apis_message(client: TestClient, form: dict[str, str],
                                              cli_args: tuple[Any, Any]) -> None:
    with pytest.raises(SustainError) as raised:
        check_optimize_options(cli_args[0], cli_args[1], 5.0)
    where = _from_example(client)
    answer = client.post(f"{where}/run", data={"v": "1", "kind": "optimize", **form})
    assert answer.status_code == 422
    assert html.escape(str(raised.value), quote=True) in answer.text
    not_a_number = client.post(f"{where}/run", data={"v": "1", "kind": "optimize",
                                                     "budget": "lots"})
    assert not_a_number.status_code == 422 and "budget &#x27;lots&#x27;: not a number" in \
        not_a_number.text


def test_a_result_offers_the_files_of_the_command_line(client: TestClient,
                                                        tmp_path: Path) -> None:
    where = _from_example(client)
    run_id = _run(client, where, v="1", kind="optimize", target="0.8")
    page = client.get(f"/runs/{run_id}").text
    assert f'src="/runs/{run_id}/report"' in page
    report = client.get(f"/runs/{run_id}/report").text
    assert "Plotly.newPlot" in report  # the charts, drawn by the inlined plotly.js
    # The result page's report is the HTML output of the command (the same builder and
    # page writer), up to the minute it was made.
    page_html = client.get(f"/runs/{run_id}/download/html").text
    assert _unstamped(report) == _unstamped(page_html)

    out = {s: tmp_path / f"cli.{s}" for s in ("md", "csv", "json", "xlsx", "parquet")}
    args = ["optimize", str(EXAMPLES / RAIL), "-t", "0.8", "-q"]
    for path in out.values():
        args += ["-o", str(path)]
    args += ["--curve", str(tmp_path / "curve.png")]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    got = {s: client.get(f"/runs/{run_id}/download/{s}") for s in out}
    assert all(g.status_code == 200 for g in got.values())
    assert got["csv"].text == out["csv"].read_text(encoding="utf-8")
    assert got["md"].text == out["md"].read_text(encoding="utf-8")
    assert got["json"].text == client.get(f"/api/jobs/{run_id}/result").text
    assert got["json"].text == out["json"].read_text(encoding="utf-8")
    web_book = openpyxl.load_workbook(io.BytesIO(got["xlsx"].content))
    cli_book = openpyxl.load_workbook(out["xlsx"])
    assert web_book.sheetnames == cli_book.sheetnames
    for name in cli_book.sheetnames:
        assert list(web_book[name].values) == list(cli_book[name].values)
    curve = client.get(f"/runs/{run_id}/download/curve.csv").text
    assert curve.startswith("cost,availability,")
    assert client.get(f"/runs/{run_id}/download/png").status_code == 404
    picture = client.get(f"/runs/{run_id}/download/curve.png")
    assert picture.headers["content-type"] == "image/png"
    assert picture.content == (tmp_path / "curve.png").read_bytes()
    _same_table(got["parquet"].content, out["parquet"])
    _pictures(client, run_id, "curve.")


def _same_table(got: bytes, expected: Path) -> None:
    """A Parquet download holds the table of the command line's ``-o x.parquet``."""
    import pyarrow.parquet as pq

    assert pq.read_table(io.BytesIO(got)).equals(pq.read_table(expected))


def _pictures(client: TestClient, run_id: str, prefix: str = "") -> None:
    """The ``.svg`` and ``.pdf`` pictures of a run (``--plot`` or ``--curve``): drawn, of
    their type (the files carry the time they were drawn, so they are not compared)."""
    svg = client.get(f"/runs/{run_id}/download/{prefix}svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.startswith(b"<?xml") and b"<svg" in svg.content[:1000]
    pdf = client.get(f"/runs/{run_id}/download/{prefix}pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_a_simulation_offers_the_plot_of_the_command_line(client: TestClient,
                                                          tmp_path: Path) -> None:
    where = _from_example(client)
    run_id = _run(client, where, v="1", kind="simulate", days="60", reps="4", seed="3")
    done = CliRunner().invoke(cli, ["simulate", str(EXAMPLES / RAIL), "--days", "60",
                                    "--reps", "4", "--seed", "3", "-q", "--plot",
                                    str(tmp_path / "a.png"), "-o", str(tmp_path / "a.csv"),
                                    "-o", str(tmp_path / "a.parquet")])
    assert done.exit_code == 0, done.output
    assert client.get(f"/runs/{run_id}/download/png").content == \
        (tmp_path / "a.png").read_bytes()
    assert client.get(f"/runs/{run_id}/download/csv").text == \
        (tmp_path / "a.csv").read_text(encoding="utf-8")
    _same_table(client.get(f"/runs/{run_id}/download/parquet").content,
                tmp_path / "a.parquet")


def test_compare_two_runs(client: TestClient) -> None:
    where = _from_example(client)
    a = _run(client, where, v="1", kind="optimize", target="0.8")
    b = _run(client, where, v="1", kind="optimize", target="0.9")
    da = client.get(f"/api/runs/{a}").json()["result"]
    db = client.get(f"/api/runs/{b}").json()["result"]
    assert db["purchase_cost"] > da["purchase_cost"]
    page = client.get(f"/compare?a={a}&b={b}").text
    row = re.search(r"<th>purchase cost</th><td>([^<]*)</td><td>([^<]*)</td>"
                    r'<td class="changed">([^<]*)</td>', page)
    assert row is not None
    assert row.groups() == (f"{da['purchase_cost']:,.0f}", f"{db['purchase_cost']:,.0f}",
                            f"{db['purchase_cost'] - da['purchase_cost']:+,.0f}")
    fleet = da["fleets"][0]
    name = f"{fleet['system']}@{fleet['site']}"
    assert f"<th>availability {name}</th><td>{fleet['availability']:.4f}</td>" in page
    assert "<th>parameter target</th>" in page
    buys_a = {(p["item"], p["site"]): p["qty"] for p in da["purchases"]}
    buys_b = {(p["item"], p["site"]): p["qty"] for p in db["purchases"]}
    shown = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td>"
                       r"<td>([-+]\d+)</td></tr>", page)
    assert shown, "the purchases that differ are listed"
    assert {(i, s) for i, s, *_ in shown} == {
        k for k in set(buys_a) | set(buys_b) if buys_a.get(k, 0) != buys_b.get(k, 0)}
    for i, s, x, y, d in shown:
        assert (int(x), int(y)) == (buys_a.get((i, s), 0), buys_b.get((i, s), 0))
        assert int(d) == int(y) - int(x)
    assert client.get(f"/compare?a={a}&b=nothing").status_code == 404


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_comes_back_unchanged_through_the_editor(name: str,
                                                              tmp_path: Path) -> None:
    """Every table's cells as the page shows them, sent back unedited, give the same
    scenario (the time-phased tables and the stockpile section included)."""
    text = (EXAMPLES / name).read_bytes()
    files = ((name, text), *((c.name, c.read_bytes()) for c in sorted(EXAMPLES.glob("*.csv"))
                             if c.name.encode() in text))
    opened = editor.open_version(files, tmp_path)
    fields = {f"c|{s.key}|{n}|{c}": editor.cell_text(row.get(c))
              for s in opened.sheets for n, row in enumerate(s.rows) for c in s.columns}
    rest = yaml.safe_dump(opened.rest, sort_keys=False, allow_unicode=True)
    (tmp_path / "edited.yaml").write_text(
        editor.scenario_yaml(opened, edited_sheets(opened, fields), rest), encoding="utf-8")
    before = load_scenario(EXAMPLES / name)
    after = load_scenario(tmp_path / "edited.yaml")
    for f in dataclasses.fields(before):
        if f.name not in ("source", "source_files"):
            assert getattr(after, f.name) == getattr(before, f.name), f.name


def test_a_browser_gives_the_token_once_and_keeps_it_in_a_cookie(make_client: Client) -> None:
    token = "s3cret-token-0123456789"
    client = make_client(token=token)
    page = {"Accept": "text/html"}
    sent = client.get("/scenarios", headers=page, follow_redirects=False)
    assert (sent.status_code, sent.headers["location"]) == (303, "/login")
    assert client.get("/scenarios").status_code == 401  # not a browser: the API's answer
    assert client.get("/login").status_code == 200
    wrong = client.post("/login", data={"token": "guess"}, follow_redirects=False)
    assert wrong.status_code == 401 and "sustain_token" not in wrong.headers.get(
        "set-cookie", "")
    assert client.get("/scenarios", headers=page, follow_redirects=False).status_code == 303
    right = client.post("/login", data={"token": token}, follow_redirects=False)
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # The client keeps the cookie: pages and the API (the pages' script) now answer.
    assert client.get("/scenarios", headers=page).status_code == 200
    assert client.get("/api/runs").json() == []
    client.cookies.set("sustain_token", "guess")
    assert client.get("/api/runs").status_code == 401


def test_a_run_from_a_page_can_be_cancelled(client: TestClient) -> None:
    where = _from_example(client)
    # A long run (seconds on any machine) within the memory a simulation may take: with
    # 100,000 replications it failed at once on its memory check, often before the
    # cancel came.
    answer = client.post(f"{where}/run", data={"v": "1", "kind": "simulate",
                                               "days": "3650", "reps": "20000"},
                         follow_redirects=False)
    run_id = str(answer.headers["location"]).rsplit("/", 1)[1]
    page = client.get(f"/runs/{run_id}").text
    assert 'id="cancel"' in page  # queued or running: the page offers to cancel
    # What the page's Cancel button sends (static/sustain.js).
    assert client.delete(f"/api/jobs/{run_id}").status_code == 200
    status = wait_for(client, run_id, finished)
    assert status["status"] == "cancelled"
    page = client.get(f"/runs/{run_id}").text
    assert 'id="cancel"' not in page and 'class="status cancelled"' in page


def test_a_file_that_cannot_be_read_as_tables_is_edited_as_text(client: TestClient) -> None:
    broken = (EXAMPLES / RAIL).read_text(encoding="utf-8").replace(
        "currency: EUR", "currency: [EUR", 1)
    answer = client.post("/scenarios", files=[("files", ("rail.yaml", broken.encode()))],
                         follow_redirects=False)
    where = str(answer.headers["location"])
    page = client.get(where).text
    assert '<textarea name="source"' in page and 'id="problems"' in page
    assert "rail.yaml line" in page  # the loader's message with its line
    fixed = {"v": "1", "source": (EXAMPLES / RAIL).read_text(encoding="utf-8")}
    assert client.post(f"{where}/save", data=fixed, follow_redirects=False).status_code == 303
    page = client.get(where).text
    assert 'id="version">2<' in page and "passes the scenario check" in page


def test_per_fleet_targets_and_a_stockpile_from_the_pages(client: TestClient,
                                                         tmp_path: Path) -> None:
    where = _from_example(client)
    run_id = _run(client, where, v="1", kind="optimize",
                  target="0.8, EMU4@NORTH-TMD=0.9")
    targets = {(t["site"], t["target"]) for t in
               client.get(f"/api/runs/{run_id}").json()["result"]["targets"]}
    assert targets == {("NORTH-TMD", 0.9), ("SOUTH-TMD", 0.8)}
    munitions = _from_example(client, "coalition-munitions.yaml")
    page = client.get(munitions).text
    assert "stockpile.consumables" in page and "stockpile.donors" in page
    plan = _run(client, munitions, v="1", kind="stockpile")
    done = CliRunner().invoke(cli, ["stockpile", str(EXAMPLES / "coalition-munitions.yaml"),
                                    "-q", "-o", str(tmp_path / "s.csv"), "--plot",
                                    str(tmp_path / "s.png"), "-o", str(tmp_path / "s.parquet")])
    assert done.exit_code == 0, done.output
    assert client.get(f"/runs/{plan}/download/csv").text == \
        (tmp_path / "s.csv").read_text(encoding="utf-8")
    # The picture of `sustain stockpile --plot s.png`, byte for byte.
    picture = client.get(f"/runs/{plan}/download/png")
    assert picture.headers["content-type"] == "image/png"
    assert picture.content == (tmp_path / "s.png").read_bytes()
    _same_table(client.get(f"/runs/{plan}/download/parquet").content,
                tmp_path / "s.parquet")
    # The report's interactive charts: each consumable's stock, month by month.
    report = client.get(f"/runs/{plan}/report").text
    doc = client.get(f"/api/jobs/{plan}/result").json()
    for c in doc["consumables"]:
        traces = {t["name"]: t["y"] for t in _figure(report, f"stock {c['id']}")["data"]}
        assert traces["partner stock"] == c["partner_stock"]


def test_a_form_from_another_site_is_refused(client: TestClient) -> None:
    where = _from_example(client)
    elsewhere = client.post(f"{where}/delete", headers={"Origin": "http://evil.example"})
    assert elsewhere.status_code == 403 and "evil.example" in elsewhere.text
    assert client.get(where).status_code == 200  # still there
    here = client.post(f"{where}/delete", headers={"Origin": "http://testserver"},
                       follow_redirects=False)
    assert here.status_code == 303


def test_an_evaluation_over_time_gets_the_over_time_report(client: TestClient,
                                                          tmp_path: Path) -> None:
    """A run of ``POST /api/evaluate?over_time=1`` (its row written here as the job
    manager writes it) shows the report and files of ``evaluate --over-time``."""
    import sustain
    from sustain.report.documents import json_text
    from sustain.web.db import NewRun, Status
    from sustain.web.uploads import Upload

    scenario = EXAMPLES / "coalition-air-defence.yaml"
    files = ((scenario.name, scenario.read_bytes()),
             ("coalition-air-defence-items.csv",
              (EXAMPLES / "coalition-air-defence-items.csv").read_bytes()))
    doc = sustain.evaluate_over_time(load_scenario(scenario), days=60, step=30).to_dict()
    store = client.app.state.store  # type: ignore[attr-defined]
    store.add_run(NewRun(id="overtime", kind="evaluate",
                         scenario_sha256=Upload(files=files).sha256,
                         scenario_name=scenario.name, files=files,
                         parameters={"method": "vari-metric", "over_time": True, "days": 60,
                                     "step": 30}, seed=None, sustain_version="x",
                         background=True))
    store.started("overtime")
    store.finish("overtime", Status.DONE, result=json_text(doc))
    done = CliRunner().invoke(cli, ["evaluate", str(scenario), "--over-time", "--days", "60",
                                    "--step", "30", "-q", "-o", str(tmp_path / "o.csv")])
    assert done.exit_code == 0, done.output
    assert client.get("/runs/overtime/download/csv").text == \
        (tmp_path / "o.csv").read_text(encoding="utf-8")
    assert "Plotly.newPlot" in client.get("/runs/overtime/report").text
    # A kind the pages have no report for: the document only.
    store.add_run(NewRun(id="other", kind="sweep", scenario_sha256=Upload(files=files).sha256,
                         scenario_name=scenario.name, files=files, parameters={}, seed=None,
                         sustain_version="x", background=True))
    store.started("other")
    store.finish("other", Status.DONE, result="{}")
    page = client.get("/runs/other").text
    assert 'href="/api/jobs/other/result"' in page and "iframe" not in page
    assert client.get("/runs/other/download/csv").status_code == 404


def _figure(report: str, name: str) -> dict[str, Any]:
    """The plotly figure of the chart ``name`` in an HTML report (its data and layout)."""
    found = re.search(rf'<div class="plot" data-chart="{re.escape(html.escape(name))}">'
                      r'</div>\s*<script type="application/json" class="figure">(.*?)'
                      r"</script>", report, re.S)
    assert found is not None, f"no chart {name!r} in the report"
    return dict(json.loads(found.group(1)))


AIR = "coalition-air-defence.yaml"


def test_an_evaluation_over_time_from_the_page(client: TestClient, tmp_path: Path) -> None:
    """The form *Evaluate over time* runs ``sustain evaluate --over-time``: the same
    document as ``--json``, the over-time report with its chart, every file of the
    command's ``-o`` and ``--plot``."""
    where = _from_example(client, AIR)
    page = client.get(where).text
    assert 'id="over-time"' in page and 'name="over_time"' in page
    run_id = _run(client, where, v="1", kind="evaluate", over_time="1", days="120",
                  step="15", method="metric", exponential="on")
    options = ["--over-time", "--days", "120", "--step", "15", "--method", "metric",
               "--exponential"]
    picture = tmp_path / "p.png"
    done = CliRunner().invoke(cli, ["evaluate", str(EXAMPLES / AIR), *options, "--json",
                                    "--plot", str(picture)])
    assert done.exit_code == 0, done.output
    assert client.get(f"/api/jobs/{run_id}/result").text == done.stdout
    doc = json.loads(done.stdout)
    assert doc["days"] == list(range(0, 121, 15)) and doc["method"] == "metric"
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["parameters"] == {"method": "metric", "over_time": True, "days": 120,
                                 "step": 15, "exponential": True}

    # The result page: the report of `evaluate --over-time -o x.html`, its chart drawn
    # from every fleet's series, and the command's files to download.
    result = client.get(f"/runs/{run_id}").text
    assert f'src="/runs/{run_id}/report"' in result
    assert "evaluate over time of" in result
    # The command's note on stderr, on the page: the example has lateral links.
    note = re.search(r'<p class="note" id="note">(.*?)</p>', result)
    assert note is not None and html.unescape(note.group(1)) == done.stderr.strip()
    for what in ("md", "html", "csv", "json", "xlsx", "parquet", "png", "svg", "pdf"):
        assert f'href="/runs/{run_id}/download/{what}"' in result
    report = client.get(f"/runs/{run_id}/report").text
    assert "Readiness over time" in report and "Plotly.newPlot" in report
    figure = _figure(report, "availability over time")
    traces = {t["name"]: t for t in figure["data"]}
    assert len(doc["fleets"]) > 1
    for f in doc["fleets"]:
        trace = traces[f"{f['system']} @ {f['site']}"]
        assert trace["x"] == [float(p["day"]) for p in f["series"]]
        assert trace["y"] == [p["availability"] for p in f["series"]]
    assert _unstamped(report) == _unstamped(client.get(f"/runs/{run_id}/download/html").text)

    out = {s: tmp_path / f"cli.{s}" for s in ("md", "csv", "json", "xlsx", "parquet")}
    args = ["evaluate", str(EXAMPLES / AIR), *options, "-q"]
    for path in out.values():
        args += ["-o", str(path)]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    got = {s: client.get(f"/runs/{run_id}/download/{s}") for s in (*out, "png")}
    assert all(g.status_code == 200 for g in got.values())
    for s in ("md", "csv", "json"):
        assert got[s].text == out[s].read_text(encoding="utf-8"), s
    web_book = openpyxl.load_workbook(io.BytesIO(got["xlsx"].content))
    cli_book = openpyxl.load_workbook(out["xlsx"])
    assert web_book.sheetnames == cli_book.sheetnames
    for name in cli_book.sheetnames:
        assert list(web_book[name].values) == list(cli_book[name].values)
    assert got["png"].headers["content-type"] == "image/png"
    assert got["png"].content == picture.read_bytes()
    _same_table(got["parquet"].content, out["parquet"])
    _pictures(client, run_id)
    assert got["csv"].headers["content-disposition"].startswith(
        'attachment; filename="over-time-')


@pytest.mark.parametrize(("form", "args"), [
    ({"days": "0"}, ["--days", "0"]),
    ({"step": "0"}, ["--step", "0"]),
    ({"days": "40000"}, ["--days", "40000"]),
    ({"method": "exact"}, ["--method", "exact"]),
], ids=["days", "step", "days-too-many", "exact"])
def test_over_time_options_get_the_command_line_messages(
        client: TestClient, form: dict[str, str], args: list[str]) -> None:
    where = _from_example(client)
    done = CliRunner().invoke(cli, ["evaluate", str(EXAMPLES / RAIL), "--over-time", *args,
                                    "--json"])
    assert done.exit_code == 2
    message = done.stderr.strip()
    assert message.startswith("error: --")
    answer = client.post(f"{where}/run", data={"v": "1", "kind": "evaluate",
                                               "over_time": "1", **form})
    assert answer.status_code == 422
    assert html.escape(message, quote=True) in answer.text
    # A steady evaluation takes no over-time options (the command's message again).
    steady = client.post(f"{where}/run", data={"v": "1", "kind": "evaluate", "days": "30"})
    assert steady.status_code == 422 and "--days needs --over-time" in steady.text
    half = client.post(f"{where}/run", data={"v": "1", "kind": "evaluate", "over_time": "1",
                                             "step": "1.5"})
    assert half.status_code == 422 and "step &#x27;1.5&#x27;: a whole number is needed" in \
        half.text
    # The runs the pages have no form for are the API's.
    sweep = client.post(f"{where}/run", data={"v": "1", "kind": "sweep"})
    assert sweep.status_code == 422 and "POST /api/sweep" in sweep.text


def test_warnings_of_a_scenario_that_passes_sit_at_their_cells(client: TestClient) -> None:
    text = (EXAMPLES / "coalition-munitions.yaml").read_text(encoding="utf-8").replace(
        "floor: {SHELL155: 800000,", "floor: {SHELL155: 2000000,", 1)
    demand = (EXAMPLES / "coalition-munitions-demand.csv").read_bytes()
    answer = client.post("/scenarios", files=[
        ("files", ("m.yaml", text.encode())),
        ("files", ("coalition-munitions-demand.csv", demand))], follow_redirects=False)
    page = client.get(str(answer.headers["location"])).text
    assert "passes the scenario check, with 1 warning:" in page
    cell = re.search(r'<td class="noted"><input name="c\|stockpile.donors\|0\|floor"[^>]*>'
                     r'<div class="msg warn">([^<]+)</div>', page)
    assert cell is not None
    assert html.unescape(cell.group(1)).startswith(
        "floor 2,000,000 is above the starting stock 1,500,000")
    assert 'id="optimize"' in page  # warnings do not stop runs
