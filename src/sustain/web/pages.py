"""The browser pages of ``sustain serve``: scenarios, their tables, runs, results, compare.

Server-rendered HTML with a little script (``static/sustain.js``: polling a run's
progress, cancelling it, adding a table row); everything is served by the package, so
the pages work offline.  The pages call the same code as the command line and the JSON
API:

* a scenario is stored in the library (:mod:`sustain.web.library`), every saved edit a
  new version; its tables are edited as HTML tables (:mod:`sustain.web.editor`) and
  checked by the command line's loader, each message shown at the cell it names;
* a run is a job of the API's job manager (:mod:`sustain.web.jobs`) on the stored
  version, with the API's option checks;
* a result page shows the report of the command line's HTML output
  (:func:`sustain.report.html.to_html` of the command's report builder) and offers
  every ``-o`` file type of the command, written by the command line's own writers.
"""

from __future__ import annotations

import hmac
import html
import json
import math
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

import sustain
from sustain.cli.common import OptionError, no_laterals_note, report_files
from sustain.errors import Issue, ScenarioError, Severity, SustainError
from sustain.report.outputs import output_files
from sustain.web import editor
from sustain.web.compare import compare_html
from sustain.web.db import NewRun, ScenarioFileRow, Status, Store
from sustain.web.guard import COOKIE, LOGIN, problem
from sustain.web.jobs import Job, JobManager, QueueFull
from sustain.web.library import InUse, Library, Version
from sustain.web.run_forms import run_forms, run_options
from sustain.web.uploads import MAX_FILES, Upload, UploadError, form_upload, write_upload
from sustain.web.worker import Kind, Task

STATIC = Path(__file__).resolve().parent / "static"
_COOKIE_SAFE = re.compile(r"[A-Za-z0-9._~+/=-]+")
#: Most form fields of one table edit (every cell is a field).
MAX_FORM_FIELDS = 500_000
#: File types a result offers, per kind: the suffixes of the command's ``-o`` (the
#: report, its main table, the document), of ``--plot`` (``png``, ``svg``, ``pdf``)
#: and of ``optimize --curve`` (``curve.*``).
_PICTURES = ("png", "svg", "pdf")
DOWNLOADS = {
    "evaluate": ("md", "html", "csv", "json", "xlsx", "parquet"),
    "optimize": ("md", "html", "csv", "json", "xlsx", "parquet", "curve.csv", "curve.json",
                 *(f"curve.{p}" for p in _PICTURES)),
    "simulate": ("md", "html", "csv", "json", "xlsx", "parquet", *_PICTURES),
    "stockpile": ("md", "html", "csv", "json", "xlsx", "parquet", *_PICTURES),
    "over-time": ("md", "html", "csv", "json", "xlsx", "parquet", *_PICTURES),
}
_MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
          "csv": "text/csv; charset=utf-8", "json": "application/json",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "parquet": "application/vnd.apache.parquet", "png": "image/png",
          "svg": "image/svg+xml", "pdf": "application/pdf"}


def report_kind(run: dict[str, Any]) -> str | None:
    """Which report a run has: its kind, ``over-time`` for an evaluation over time, or
    None for runs the pages show as their JSON document only."""
    kind = str(run["kind"])
    if kind == "evaluate" and (run.get("parameters") or {}).get("over_time"):
        return "over-time"
    return kind if kind in DOWNLOADS else None


def examples_folder() -> Path | None:
    """The shipped examples: ``sustain/examples`` in a wheel, ``examples/`` in a checkout."""
    here = Path(__file__).resolve()
    for folder in (here.parents[1] / "examples", here.parents[3] / "examples"):
        if folder.is_dir():
            return folder
    return None


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    """A whole page: the navigation bar, a title and ``body``."""
    return HTMLResponse(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · Sustain</title><link rel="stylesheet" href="/static/sustain.css">
<script src="/static/sustain.js" defer></script></head><body>
<nav class="top"><a href="/scenarios">Scenarios</a> <a href="/runs">Runs</a>
<a href="/docs">API</a><span class="version">sustain {_e(sustain.__version__)}</span></nav>
<main><h1>{_e(title)}</h1>
{body}</main></body></html>""", status_code=status)


def error_page(message: str, problems: list[str] | tuple[str, ...] = (), *,
               status: int = 422, back: str = "") -> HTMLResponse:
    """A page with one error and its problems."""
    items = "".join(f"<li>{_e(p)}</li>" for p in problems)
    link = f'<p><a href="{_e(back)}">Back</a></p>' if back else ""
    return page("Error", f'<div class="error" role="alert"><p>{_e(message)}</p>'
                f"<ul>{items}</ul></div>{link}", status=status)


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in params.items()}


class Pages:
    """The pages' routes, over the app's store and job manager."""

    def __init__(self, *, data_dir: Path, store: Store, manager: JobManager,
                 max_upload_bytes: int) -> None:
        self.store = store
        self.manager = manager
        self.library = Library(store)
        self.uploads = data_dir / "uploads"
        self.scratch = data_dir / "pages"
        self.max_upload_bytes = max_upload_bytes

    # ---- data --------------------------------------------------------------------------

    def files_of(self, sha256: str) -> tuple[tuple[str, bytes], ...]:
        """The stored files of a scenario (by its hash), the scenario file first."""
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        with Session(self.store.engine) as s:
            rows = s.execute(select(ScenarioFileRow.path, ScenarioFileRow.content)
                             .where(ScenarioFileRow.scenario_sha256 == sha256)
                             .order_by(ScenarioFileRow.id)).all()
        return tuple((p, bytes(c)) for p, c in rows)

    def scenario_of(self, files: tuple[tuple[str, bytes], ...]) -> Any:
        """The checked scenario of ``files`` (for the report builders)."""
        from sustain.scenario import load_scenario

        folder = editor.folder_of(files, self.scratch)
        try:
            return load_scenario(folder / files[0][0])
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def report(self, run: dict[str, Any]) -> Any:
        """The command line's report of a finished run (its builder, its document)."""
        from sustain.report import builders

        sc = self.scenario_of(self.files_of(run["scenario"]["sha256"]))
        doc = run["result"]
        kind = report_kind(run)
        if kind is None:
            raise OptionError(f"a {run['kind']} run has no report here: its document is at "
                              f"/api/jobs/{run['id']}/result")
        if kind == "over-time":
            return builders.over_time_report(sc, doc)
        if kind == "evaluate":
            return builders.evaluation_report(sc, doc, top=15)
        if kind == "optimize":
            return builders.optimization_report(sc, doc)
        if kind == "simulate":
            cannibal = run["parameters"].get("cannibalisation")
            return builders.simulation_report(
                sc, doc, cannibalisation=sc.simulation.cannibalisation if cannibal is None
                else bool(cannibal))
        return builders.stockpile_report(sc, doc, top=10)

    def over_time_note(self, run: dict[str, Any]) -> str:
        """The note ``evaluate --over-time`` writes on stderr (its lateral links left
        out) as a paragraph, or nothing."""
        sc = self.scenario_of(self.files_of(run["scenario"]["sha256"]))
        note = no_laterals_note(sc, "evaluate --over-time")
        return "" if note is None else f'<p class="note" id="note">{_e(note)}</p>'

    def download(self, run: dict[str, Any], what: str) -> tuple[bytes, str]:
        """The file ``what`` (``md``, ``csv``, ``curve.json``, …) of a finished run, written
        by the command line's writers; its bytes and media type."""
        from sustain.report.builders import MAIN_TABLE
        from sustain.report.documents import (
            curve_csv,
            json_text,
            plan_csv_of_document,
        )
        from sustain.report.files import write_outputs

        doc = run["result"]
        kind = report_kind(run) or ""
        if what == "curve.csv":
            return curve_csv(doc["curve"]).encode(), _MEDIA["csv"]
        if what == "curve.json":
            return json_text(doc["curve"], what="the efficient curve").encode(), _MEDIA["json"]
        fmt = what.removeprefix("curve.")
        if fmt in _PICTURES:
            return self.picture(run, what), _MEDIA[fmt]
        csv: Callable[[], str] | None = None
        files = self.files_of(run["scenario"]["sha256"])
        if kind == "optimize":
            from sustain.scenario.compile import compile_scenario

            def csv() -> str:
                return plan_csv_of_document(compile_scenario(self.scenario_of(files)), doc)
        folder = Path(tempfile.mkdtemp(prefix="download-", dir=self.scratch))
        try:
            target = folder / f"result.{what}"
            (out,) = output_files([target])  # a missing extra named, as the CLI names it
            write_outputs(report_files([out], lambda: self.report(run),
                                       lambda: json_text(doc), main=MAIN_TABLE.get(kind, ""),
                                       csv=csv))
            return target.read_bytes(), _MEDIA[what]
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def picture(self, run: dict[str, Any], what: str) -> bytes:
        """The picture ``what`` (``png``, ``svg``, ``pdf``) of ``--plot`` (simulate,
        stockpile, ``evaluate --over-time``), or ``curve.png`` … of ``optimize --curve``,
        drawn by the command line's plot code."""
        from sustain.report.plots import (
            save_availability_plot_of,
            save_curve_plot_of,
            save_over_time_plot,
            save_stockpile_plot_of,
        )

        doc = run["result"]
        kind = report_kind(run)
        fmt = what.removeprefix("curve.")
        folder = Path(tempfile.mkdtemp(prefix="download-", dir=self.scratch))
        try:
            target = folder / f"picture.{fmt}"
            if what.startswith("curve."):
                if "service_targets" in doc:
                    raise OptionError("the curve of a run with fill-rate or waiting-time "
                                      "targets is drawn by the command line only")
                sc = self.scenario_of(self.files_of(run["scenario"]["sha256"]))
                save_curve_plot_of(doc, target, fmt, currency=sc.currency)
            elif kind == "over-time":
                sc = self.scenario_of(self.files_of(run["scenario"]["sha256"]))
                save_over_time_plot(doc, sc, target, fmt)
            elif kind == "stockpile":
                save_stockpile_plot_of(doc, target, fmt)
            else:
                save_availability_plot_of(doc, target, fmt)
            return target.read_bytes()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def submit(self, version: Version, kind: Kind, options: dict[str, Any],
                     seed: int | None) -> str:
        """Queue a run of ``version`` (as the API's background runs); its id."""
        upload = Upload(files=version.files)
        folder = await run_in_threadpool(write_upload, upload, self.uploads)
        run_id = uuid.uuid4().hex
        job = Job(id=run_id, folder=folder,
                  task=Task(kind=kind, scenario=folder / upload.scenario, options=options))
        try:
            await run_in_threadpool(self.store.add_run, NewRun(
                id=run_id, kind=kind.value, scenario_sha256=upload.sha256,
                scenario_name=upload.scenario, files=upload.files,
                parameters=_plain(options), seed=seed, sustain_version=sustain.__version__,
                background=True))
            await run_in_threadpool(self.library.link_run, run_id, version.id)
            self.manager.submit(job)
        except QueueFull as exc:
            await run_in_threadpool(self.store.finish, run_id, Status.FAILED,
                                    error=problem(str(exc)))
            shutil.rmtree(folder, ignore_errors=True)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return run_id

    async def read_form(self, request: Request) -> tuple[dict[str, str],
                                                         list[tuple[str, bytes]]]:
        """A posted form: its text fields and its files (name, bytes)."""
        fields: dict[str, str] = {}
        files: list[tuple[str, bytes]] = []
        async with request.form(max_files=MAX_FILES, max_fields=MAX_FORM_FIELDS,
                                max_part_size=self.max_upload_bytes) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if value.filename:
                        files.append((value.filename, await value.read()))
                else:
                    fields[key] = value
        return fields, files


def _upload_of(files: list[tuple[str, bytes]], max_bytes: int) -> Upload:
    """The scenario of an upload form: one zip, or the scenario file and its tables."""
    if not files:
        raise UploadError("choose the scenario file (YAML or JSON) and its table files, "
                          "or one zip holding them")
    if len(files) == 1 and files[0][0].lower().endswith(".zip"):
        return editor.zip_upload(files[0][1], max_bytes)
    names = [(n.rsplit("/", 1)[-1], b) for n, b in files]
    scenarios = [f for f in names if f[0].lower().endswith(editor.SCENARIO_SUFFIXES)]
    if len(scenarios) != 1:
        raise UploadError(f"{len(scenarios)} scenario files (.yaml, .yml, .json) among the "
                          "files chosen: choose one, with its table files")
    return form_upload(scenarios[0], [f for f in names if f is not scenarios[0]])


# ---- rendering --------------------------------------------------------------------------


def _messages(issues: list[Any]) -> str:
    return "".join(
        f'<div class="msg {"warn" if i.severity is Severity.WARNING else "err"}">'
        f"{_e(i.message)}</div>" for i in issues)


def _editor_html(saved_id: int, version: Version, opened: editor.Opened,
                 placed: editor.Placed, error: ScenarioError | None,
                 warnings: list[Issue]) -> str:
    parts = [f'<form method="post" action="/scenarios/{saved_id}/save" id="edit">'
             f'<input type="hidden" name="v" value="{version.number}">']
    if opened.read_error is not None:
        text = version.files[0][1].decode("utf-8", "replace")
        parts.append(f'<p>The scenario file cannot be read as tables; edit its text:</p>'
                     f'<textarea name="source" rows="30" cols="100">{_e(text)}</textarea>')
    invalid = ' aria-invalid="true"'
    for sheet in opened.sheets:
        where = f' <small>(from {_e(sheet.source)})</small>' if sheet.source else ""
        head = "".join(f"<th>{_e(c)}</th>" for c in sheet.columns)
        rows = []
        for n, row in enumerate(sheet.rows):
            row_issues = placed.rows.get((sheet.key, n), [])
            cells = [f'<td class="n{" bad" if row_issues else ""}">{n + 1}'
                     f"{_messages(row_issues)}</td>"]
            for c in sheet.columns:
                issues = placed.cells.get((sheet.key, n, c), [])
                bad = any(i.severity is Severity.ERROR for i in issues)
                cells.append(
                    f'<td class="{"bad" if bad else "noted" if issues else ""}">'
                    f'<input name="c|{_e(sheet.key)}|{n}|'
                    f'{_e(c)}" value="{_e(editor.cell_text(row.get(c)))}" '
                    f'aria-label="{_e(sheet.key)} row {n + 1} {_e(c)}"'
                    f"{invalid if bad else ''}>{_messages(issues)}</td>")
            cells.append(f'<td><input type="checkbox" name="d|{_e(sheet.key)}|{n}" '
                         f'aria-label="delete {_e(sheet.key)} row {n + 1}"></td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        parts.append(
            f'<section class="sheet"><h3 id="t-{_e(sheet.key)}">{_e(sheet.key)}{where}</h3>'
            f'<div class="table-box"><table class="edit" data-table="{_e(sheet.key)}" '
            f'data-columns="{_e(json.dumps(sheet.columns))}"><thead><tr><th>#</th>{head}'
            f"<th>delete</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
            f'<button type="button" class="add-row" data-table="{_e(sheet.key)}">Add a row'
            "</button></section>")
    if opened.read_error is None:
        rest = yaml.safe_dump(opened.rest, sort_keys=False, allow_unicode=True, width=100)
        parts.append('<section class="sheet"><h3>Settings (YAML)</h3>'
                     "<p>The scenario's name, currency, uncertainty and the stockpile "
                     "section's months and stocks.</p>"
                     f'<textarea name="rest" rows="12" cols="100">{_e(rest)}</textarea>'
                     "</section>")
    parts.append('<p><label>What changed <input name="note" size="60"></label> '
                 '<button type="submit" id="save">Save as a new version</button></p></form>')
    head = ""
    if error is not None:
        n = error.total
        head = (f'<div class="error" role="alert" id="problems"><p>{n:,} problem'
                f'{"s" if n != 1 else ""} in version {version.number}: runs are refused '
                "until they are fixed. Each is shown at its cell below.</p>"
                f"<ul>{''.join(f'<li>{_e(i)}</li>' for i in error.issues)}</ul></div>")
    else:
        noted = "".join(f"<li>{_e(i)}</li>" for i in warnings)
        head = (f'<div id="problems"><p class="ok">Version {version.number} passes the '
                "scenario check" + (f", with {len(warnings)} warning"
                                    f"{'s' if len(warnings) != 1 else ''}:" if warnings
                                    else ".") + f"</p><ul>{noted}</ul></div>")
    return head + "".join(parts)


def _what(run: dict[str, Any]) -> str:
    """A run's kind in words: ``evaluate over time`` for an evaluation over time."""
    return "evaluate over time" if report_kind(run) == "over-time" else str(run["kind"])


def _status_line(run: dict[str, Any]) -> str:
    progress = run.get("progress")
    done = f" ({progress['done']} of {progress['total']})" if progress else ""
    return f'<span class="status {_e(run["status"])}">{_e(run["status"])}</span>{_e(done)}'


# ---- routes -----------------------------------------------------------------------------


def same_origin(request: Request) -> None:
    """Refuse a form posted from another site's page (its ``Origin`` is not this
    server's): a page elsewhere cannot make the browser change the library."""
    origin = request.headers.get("origin")
    if request.method != "POST" or origin is None:
        return
    host = request.headers.get("host", "")
    if origin not in (f"http://{host}", f"https://{host}"):
        raise HTTPException(403, detail=f"error: a form from {origin} may not change this "
                            "server's scenarios or start runs")


def pages_router(*, data_dir: Path, store: Store, manager: JobManager,
                 max_upload_bytes: int, token: str | None = None) -> APIRouter:
    """The routes of the browser pages (not in the OpenAPI page); ``token``: the
    server's, which ``/login`` keeps in a cookie for the browser."""
    p = Pages(data_dir=data_dir, store=store, manager=manager,
              max_upload_bytes=max_upload_bytes)
    p.scratch.mkdir(parents=True, exist_ok=True)
    r = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])

    @r.get("/")
    async def home() -> Response:
        return RedirectResponse("/scenarios", status_code=303)

    @r.get(LOGIN)
    async def login_form() -> Response:
        if token is None:
            return RedirectResponse("/scenarios", status_code=303)
        return page("Sign in", f'<form method="post" action="{LOGIN}"><p>This server needs '
                    'its token (sustain serve --token).</p><label>token <input type="password" '
                    'name="token" size="40" autocomplete="current-password"></label> '
                    "<button>Sign in</button></form>")

    @r.post(LOGIN)
    async def login(request: Request) -> Response:
        fields, _ = await p.read_form(request)
        given = fields.get("token", "")
        if token is None:
            return RedirectResponse("/scenarios", status_code=303)
        if not hmac.compare_digest(given.encode(), token.encode()):
            return error_page("error: that is not the server's token", status=401,
                              back=LOGIN)
        if not _COOKIE_SAFE.fullmatch(token):
            return error_page("error: this token cannot be kept in a cookie (use letters, "
                              "digits and - _ . ~ + / = only); send it in the header "
                              "'Authorization: Bearer <token>'", status=422)
        answer = RedirectResponse("/scenarios", status_code=303)
        answer.headers["set-cookie"] = (f"{COOKIE}={token}; Path=/; HttpOnly; "
                                        "SameSite=Strict")
        return answer

    @r.get("/scenarios")
    async def scenarios() -> Response:
        saved = await run_in_threadpool(p.library.saved)
        rows = "".join(
            f'<tr><td><a href="/scenarios/{s["id"]}">{_e(s["name"])}</a></td>'
            f'<td>{s["versions"]}</td><td>{s["runs"]}</td><td>{_e(s["created_at"])}</td></tr>'
            for s in saved)
        folder = examples_folder()
        examples = sorted(f.name for f in folder.glob("*.yaml")) if folder else []
        options = "".join(f"<option>{_e(n)}</option>" for n in examples)
        start = (f'<form method="post" action="/scenarios/example"><h3>Start from an '
                 f'example</h3><select name="example" aria-label="example">{options}</select>'
                 ' <button>Open a copy</button></form>') if examples else ""
        body = f"""<table class="data"><thead><tr><th>scenario</th><th>versions</th>
<th>runs</th><th>created</th></tr></thead><tbody>{rows}</tbody></table>
<div class="runs"><form method="post" action="/scenarios" enctype="multipart/form-data"
 id="upload"><h3>Upload a scenario</h3><p>The scenario file (YAML or JSON) with its table
 files, or one zip holding them.</p><input type="file" name="files" multiple
 aria-label="scenario files"> <label>name <input name="name" size="30"></label>
 <button id="upload-button">Upload</button></form>{start}</div>"""
        return page("Scenarios", body)

    async def _created(upload: Upload, name: str, note: str) -> Response:
        saved_id = await run_in_threadpool(p.library.create, name, upload, note)
        return RedirectResponse(f"/scenarios/{saved_id}", status_code=303)

    @r.post("/scenarios")
    async def upload(request: Request) -> Response:
        try:
            fields, files = await p.read_form(request)
            up = _upload_of(files, p.max_upload_bytes)
        except SustainError as exc:
            return error_page(f"error: {exc}", back="/scenarios")
        return await _created(up, fields.get("name", ""), "uploaded")

    @r.post("/scenarios/example")
    async def from_example(request: Request) -> Response:
        fields, _ = await p.read_form(request)
        folder = examples_folder()
        name = fields.get("example", "")
        if folder is None or name not in {f.name for f in folder.glob("*.yaml")}:
            return error_page(f"error: no example {name!r}", back="/scenarios", status=404)
        # The example's table files: every CSV of the folder that the file names.
        text = (folder / name).read_bytes()
        tables = [(f.name, f.read_bytes()) for f in sorted(folder.glob("*.csv"))
                  if f.name.encode() in text]
        return await _created(form_upload((name, text), tables), name.removesuffix(".yaml"),
                              f"copy of the example {name}")

    async def _version(saved_id: int, v: str | None) -> Version | None:
        number = int(v) if v and v.isdigit() else None
        return await run_in_threadpool(p.library.version, saved_id, number)

    @r.get("/scenarios/{saved_id}")
    async def scenario(saved_id: int, v: str | None = None) -> Response:
        version = await _version(saved_id, v)
        if version is None:
            return error_page(f"error: no scenario {saved_id} (version {v})", status=404,
                              back="/scenarios")
        opened = await run_in_threadpool(editor.open_version, version.files, p.scratch)
        error: ScenarioError | None = opened.read_error
        warnings: list[Issue] = []
        if error is None:
            error, warnings = await run_in_threadpool(editor.check_all, version.files,
                                                      p.scratch)
        placed = editor.place_issues(error.issues if error else warnings, opened)
        versions = await run_in_threadpool(p.library.versions, saved_id)
        vlist = "".join(
            f'<li><a href="/scenarios/{saved_id}?v={x["number"]}">version {x["number"]}</a>'
            f' {_e(x["created_at"])} {_e(x["note"])}'
            + "".join(f' · <a href="/runs/{_e(run["id"])}">{_e(run["kind"])} '
                      f'({_e(run["status"])})</a>' for run in x["runs"]) + "</li>"
            for x in versions)
        old = "" if version.number == version.latest else (
            f'<p class="note">This is version {version.number}; the latest is '
            f'<a href="/scenarios/{saved_id}">{version.latest}</a>. Saving an edit of it '
            "makes a new latest version.</p>")
        body = (f'<p>Version <b id="version">{version.number}</b> of {version.latest} · '
                f'<a href="/scenarios/{saved_id}/download?v={version.number}" '
                f'id="download-yaml">Download as YAML</a></p>{old}'
                + ("" if error else run_forms(saved_id, version.number))
                + _editor_html(saved_id, version, opened, placed, error, warnings)
                + f'<h2>Versions and their runs</h2><ul class="versions">{vlist}</ul>'
                f'<form method="post" action="/scenarios/{saved_id}/delete" class="delete">'
                "<button>Delete this scenario</button> (refused while it has runs: runs are "
                "kept)</form>")
        return page(version.name, body)

    @r.post("/scenarios/{saved_id}/save")
    async def save(saved_id: int, request: Request) -> Response:
        fields, _ = await p.read_form(request)
        version = await _version(saved_id, fields.get("v"))
        if version is None:
            return error_page(f"error: no scenario {saved_id}", status=404)
        back = f"/scenarios/{saved_id}?v={version.number}"
        note = fields.get("note", "").strip() or f"edit of version {version.number}"
        if "source" in fields:  # the scenario file's text (it could not be read as tables)
            files = ((version.files[0][0], fields["source"].encode()), *version.files[1:])
        else:
            opened = await run_in_threadpool(editor.open_version, version.files, p.scratch)
            try:
                text = editor.scenario_yaml(opened, edited_sheets(opened, fields),
                                            fields.get("rest", ""))
            except SustainError as exc:
                return error_page(f"error: {exc}", back=back)
            stem = version.scenario.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            files = ((f"{stem}.yaml", text.encode()),)
        await run_in_threadpool(p.library.add_version, saved_id, Upload(files=files), note)
        return RedirectResponse(f"/scenarios/{saved_id}", status_code=303)

    @r.get("/scenarios/{saved_id}/download")
    async def download_yaml(saved_id: int, v: str | None = None) -> Response:
        version = await _version(saved_id, v)
        if version is None:
            return error_page(f"error: no scenario {saved_id}", status=404)
        name = version.scenario.rsplit("/", 1)[-1]
        if len(version.files) == 1 and name.lower().endswith((".yaml", ".yml")):
            data = version.files[0][1]
        else:
            opened = await run_in_threadpool(editor.open_version, version.files, p.scratch)
            if opened.read_error is not None:
                return error_page(str(opened.read_error), back=f"/scenarios/{saved_id}")
            data = editor.scenario_yaml(opened, opened.sheets, yaml.safe_dump(
                opened.rest, sort_keys=False, allow_unicode=True)).encode()
            name = name.rsplit(".", 1)[0] + ".yaml"
        return Response(data, media_type="application/x-yaml", headers={
            "Content-Disposition": f'attachment; filename="{_safe(name)}"'})

    @r.post("/scenarios/{saved_id}/delete")
    async def delete(saved_id: int) -> Response:
        try:
            found = await run_in_threadpool(p.library.delete, saved_id)
        except InUse as exc:
            return error_page(f"error: {exc}", status=409, back=f"/scenarios/{saved_id}")
        if not found:
            return error_page(f"error: no scenario {saved_id}", status=404)
        return RedirectResponse("/scenarios", status_code=303)

    @r.post("/scenarios/{saved_id}/run")
    async def run(saved_id: int, request: Request) -> Response:
        fields, _ = await p.read_form(request)
        version = await _version(saved_id, fields.get("v"))
        if version is None:
            return error_page(f"error: no scenario {saved_id}", status=404)
        back = f"/scenarios/{saved_id}?v={version.number}"
        try:
            kind, options, seed = run_options(fields)
        except SustainError as exc:
            return error_page(f"error: {exc}", back=back)
        run_id = await p.submit(version, kind, options, seed)
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    @r.get("/runs")
    async def runs(limit: int = 100, offset: int = 0) -> Response:
        listed = await run_in_threadpool(
            lambda: p.store.list(limit=max(1, min(limit, 1000)), offset=max(0, offset)))
        rows = "".join(
            f'<tr><td><input type="radio" name="a" value="{_e(x["id"])}" aria-label="A"></td>'
            f'<td><input type="radio" name="b" value="{_e(x["id"])}" aria-label="B"></td>'
            f'<td><a href="/runs/{_e(x["id"])}">{_e(x["id"][:8])}</a></td>'
            f'<td>{_e(x["kind"])}</td><td>{_e(x["status"])}</td>'
            f'<td>{_e(x["scenario"]["name"])}</td>'
            f'<td>{_e(json.dumps(x["parameters"]))}</td><td>{_e(x["created_at"])}</td></tr>'
            for x in listed)
        body = (f'<form action="/compare" method="get"><table class="data"><thead><tr>'
                "<th>A</th><th>B</th><th>run</th><th>kind</th><th>status</th><th>scenario"
                "</th><th>parameters</th><th>asked for</th></tr></thead>"
                f"<tbody>{rows}</tbody></table><button>Compare A and B</button></form>")
        return page("Runs", body)

    async def _run(run_id: str) -> dict[str, Any] | None:
        return await run_in_threadpool(p.store.get, run_id)

    @r.get("/runs/{run_id}")
    async def run_page(run_id: str) -> Response:
        run = await _run(run_id)
        if run is None:
            return error_page(f"error: no run {run_id!r}", status=404, back="/runs")
        origin = await run_in_threadpool(p.library.run_version, run_id)
        made_on = (f'<a href="/scenarios/{origin[0]}?v={origin[2]}">{_e(origin[1])}, version '
                   f"{origin[2]}</a>" if origin else _e(run["scenario"]["name"]))
        params = ", ".join(f"{k} = {json.dumps(v)}" for k, v in run["parameters"].items())
        head = (f'<p id="run" data-run="{_e(run_id)}" data-status="{_e(run["status"])}">'
                f'{_e(_what(run))} of {made_on} · {_e(params)} · '
                f'<span id="state">{_status_line(run)}</span></p>')
        body = head
        if run["status"] in ("queued", "running"):
            body += ('<p><progress id="progress"></progress> '
                     '<button id="cancel" type="button">Cancel</button></p>')
        elif run["status"] == "done" and report_kind(run) is None:
            body += (f'<p>Its result: <a href="/api/jobs/{_e(run_id)}/result">the JSON '
                     "document</a>.</p>")
        elif run["status"] == "done":
            if report_kind(run) == "over-time":
                body += await run_in_threadpool(p.over_time_note, run)
            links = " · ".join(
                f'<a href="/runs/{_e(run_id)}/download/{w}" download>{w}</a>'
                for w in DOWNLOADS[report_kind(run) or ""])
            seed = "" if run["seed"] is None else f" · seed {_e(run['seed'])}"
            body += (f'<p class="downloads">Download: {links}</p>'
                     f'<p class="meta">{run["seconds"] or 0:.1f} s · sustain '
                     f'{_e(run["sustain_version"])}{seed}</p>'
                     f'<iframe id="report" title="report" src="/runs/{_e(run_id)}/report">'
                     "</iframe>")
        else:
            error = run.get("error") or {}
            body += ('<div class="error" role="alert">'
                     f'<p>{_e(error.get("message", run["status"]))}</p></div>')
        return page(f"Run {run_id[:8]}", body)

    @r.get("/runs/{run_id}/report")
    async def report_page(run_id: str) -> Response:
        run = await _run(run_id)
        if run is None or run["result"] is None:
            return error_page(f"error: run {run_id!r} has no result", status=404)
        from sustain.report.html import to_html

        try:
            text = await run_in_threadpool(lambda: to_html(p.report(run)))
        except SustainError as exc:
            return error_page(f"error: {exc}")
        return HTMLResponse(text)

    @r.get("/runs/{run_id}/download/{what}")
    async def download(run_id: str, what: str) -> Response:
        run = await _run(run_id)
        if run is None or run["result"] is None:
            return error_page(f"error: run {run_id!r} has no result", status=404)
        offered = DOWNLOADS.get(report_kind(run) or "", ())
        if what not in offered:
            return error_page(f"error: a {run['kind']} run has no {what!r} file "
                              f"(there are {', '.join(offered) or 'none'})", status=404)
        try:
            data, media = await run_in_threadpool(p.download, run, what)
        except SustainError as exc:
            return error_page(f"error: {exc}")
        name = f"{report_kind(run) or run['kind']}-{run_id[:8]}.{what}"
        return Response(data, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @r.get("/compare")
    async def compare(a: str = "", b: str = "") -> Response:
        first, second = await _run(a), await _run(b)
        if first is None or second is None:
            missing = a if first is None else b
            return error_page(f"error: choose two runs to compare (no run {missing!r})",
                              status=404, back="/runs")
        return page("Compare two runs", compare_html(first, second))

    return r


def edited_sheets(opened: editor.Opened, fields: dict[str, str]) -> list[editor.Sheet]:
    """The tables as edited in the form: cells ``c|TABLE|ROW|COLUMN``, deleted rows
    ``d|TABLE|ROW``; rows past the last one read are new rows."""
    cells: dict[str, dict[int, dict[str, str]]] = {}
    deleted: set[tuple[str, int]] = set()
    for name, value in fields.items():
        parts = name.split("|")
        if len(parts) == 4 and parts[0] == "c" and parts[2].isdigit():
            cells.setdefault(parts[1], {}).setdefault(int(parts[2]), {})[parts[3]] = value
        elif len(parts) == 3 and parts[0] == "d" and parts[2].isdigit():
            deleted.add((parts[1], int(parts[2])))
    out = []
    for sheet in opened.sheets:
        rows = []
        given = cells.get(sheet.key, {})
        for n in sorted(given):
            if (sheet.key, n) in deleted:
                continue
            original = sheet.rows[n] if n < len(sheet.rows) else {}
            row = {c: editor.cell_value(given[n].get(c, ""), original.get(c))
                   for c in sheet.columns}
            if n >= len(sheet.rows) and all(v is None for v in row.values()):
                continue  # an added row left empty
            rows.append(row)
        out.append(editor.Sheet(key=sheet.key, columns=sheet.columns, rows=rows,
                                source=sheet.source))
    return out


def _safe(name: str) -> str:
    return "".join(ch for ch in name if ch.isalnum() or ch in "-_.") or "scenario.yaml"


def mount_static(app: Any) -> None:
    """Serve ``static/`` (the pages' style sheet and script) at ``/static``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
