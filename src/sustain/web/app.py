"""The web app's JSON API (FastAPI): the commands of the CLI, as HTTP endpoints.

``POST /api/evaluate`` (also over time), ``/api/optimize``, ``/api/simulate``,
``/api/stockpile``, ``/api/next`` and ``/api/sweep`` take a scenario (the request
body, YAML or JSON, or a multipart form with the scenario and its table files, see
:mod:`sustain.web.uploads`) and the command's options as query parameters, and answer
with the same JSON document as ``sustain … --json``.  Bad input gets the CLI's
messages as HTTP 422.  With ``?background=1`` they answer 202 and a job id;
``/api/jobs/{id}`` gives its status, progress and document.  Every run is kept in the
history (``/api/runs``).  The routes are thin: the work runs in worker processes
(:mod:`sustain.web.jobs`) through the same library calls as the CLI.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

import sustain
from sustain.cli.common import (
    EXACT_NOT_FOR_OPTIMIZE,
    OptionError,
    check_optimize_options,
)
from sustain.cli.simulate_cmd import check_options
from sustain.errors import SustainError
from sustain.optimize.api import REFINE_SECONDS
from sustain.web.db import NewRun, Status, Store, make_engine, sqlite_url, upgrade
from sustain.web.guard import Guard, problem
from sustain.web.jobs import Job, JobManager, QueueFull
from sustain.web.options import (
    NEXT_DAYS,
    NEXT_STEP,
    OVER_TIME_DAYS,
    OVER_TIME_STEP,
    evaluate_options,
    next_options,
    sweep_options,
)
from sustain.web.uploads import (
    MAX_FILES,
    Upload,
    UploadError,
    body_upload,
    form_upload,
    write_upload,
)
from sustain.web.worker import Failure, Kind, Task

#: Default upload limit (bytes): the scenario and all its table files together.
MAX_UPLOAD_BYTES = 20 * 2**20
#: Default limits of the job manager.
MAX_JOBS = 2
MAX_QUEUED = 100
TIME_LIMIT_SECONDS = 600.0
#: Default memory (MB) one run may take beyond the engines its process has loaded.
MAX_MEMORY_MB = 4096.0
#: How often (seconds) a request that waits for its run looks whether it is over.
WAIT_SECONDS = 0.02
#: Longest wait (seconds) of a status request for a run being finished (its result is
#: being stored: a few milliseconds).
FINISH_WAIT_SECONDS = 10.0

_SCENARIO_BODY = {
    "requestBody": {
        "required": True,
        "description": "The scenario: YAML or JSON as the body, or a multipart form with "
        "the field 'scenario' (the file) and 'files' (its table files, repeated).",
        "content": {
            "application/x-yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["scenario"],
                "properties": {
                    "scenario": {"type": "string", "format": "binary"},
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                }}},
        },
    },
    "responses": {
        "202": {"description": "With background=1: the job's id and where to follow it."},
        "413": {"description": "The upload is larger than the server's limit."},
        "422": {"description": "Bad input: the CLI's message, the problems, the exit code."},
        "429": {"description": "Too many runs wait already."},
    },
}

Method = Literal["vari-metric", "metric", "exact"]
Background = Annotated[bool, Query(description="Answer 202 with a job id at once.")]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What ``sustain serve`` configures."""

    data_dir: Path
    db_url: str | None = None
    token: str | None = None
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_jobs: int = MAX_JOBS
    max_queued: int = MAX_QUEUED
    time_limit_seconds: float = TIME_LIMIT_SECONDS
    max_memory_mb: float | None = MAX_MEMORY_MB

    @property
    def database(self) -> str:
        """The database URL (default: SQLite in the data folder)."""
        return self.db_url or sqlite_url(self.data_dir)


def _error(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with infinities as text (JSON has no infinity)."""
    return {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in params.items()}


def create_app(settings: Settings) -> FastAPI:
    """The app for ``settings``: the database is migrated and the job slots started
    when it starts (its lifespan), and the jobs stopped when it stops."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uploads = settings.data_dir / "uploads"
    store = Store(make_engine(settings.database))
    manager = JobManager(store, max_jobs=settings.max_jobs, max_queued=settings.max_queued,
                         time_limit_seconds=settings.time_limit_seconds,
                         memory_bytes=None if settings.max_memory_mb is None
                         else int(settings.max_memory_mb * 2**20))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, store.engine)
        await run_in_threadpool(store.fail_unfinished,
                                "the server stopped before the run finished")
        manager.start()
        try:
            yield
        finally:
            await run_in_threadpool(manager.stop)
            store.engine.dispose()

    app = FastAPI(
        title="Sustain", version=sustain.__version__, lifespan=lifespan,
        description="Readiness, sparing, simulation and stockpiles of delivered fleets: "
        "the commands of the `sustain` CLI as a JSON API. Each run returns the same "
        "document as the CLI's `--json`.",
    )
    app.state.store = store
    app.state.manager = manager

    @app.exception_handler(SustainError)
    async def _bad_input(_request: Request, exc: SustainError) -> JSONResponse:
        return _error(422, problem(str(exc)))

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ())[1:]) or "request"
            given = f" {e['input']!r}" if "input" in e and e["input"] is not None else ""
            problems.append(f"{where}{given}: {e.get('msg', 'invalid')}")
        return _error(422, {"message": "error: " + "; ".join(problems), "problems": problems,
                            "exit_code": 2})

    async def read_upload(request: Request) -> Upload:
        kind = request.headers.get("content-type", "")
        if not kind.lower().startswith("multipart/form-data"):
            return body_upload(await request.body(), kind)
        scenario: tuple[str, bytes] | None = None
        tables: list[tuple[str, bytes]] = []
        async with request.form(max_files=MAX_FILES, max_fields=MAX_FILES,
                                max_part_size=settings.max_upload_bytes) as form:
            for key, value in form.multi_items():
                if not isinstance(value, UploadFile):
                    raise UploadError(f"form field {key!r} must be a file (the scenario in "
                                      "'scenario', its table files in 'files')")
                pair = (value.filename or "", await value.read())
                if key == "scenario":
                    if scenario is not None:
                        raise UploadError("the form has two fields 'scenario': send one")
                    scenario = (pair[0] or "scenario.yaml", pair[1])
                elif key == "files":
                    tables.append(pair)
                else:
                    raise UploadError(f"unknown form field {key!r}: the scenario goes in "
                                      "'scenario', its table files in 'files'")
        return form_upload(scenario, tables)

    async def submit(request: Request, kind: Kind, options: dict[str, Any],
                     background: bool, seed: int | None = None) -> Response:
        upload = await read_upload(request)
        folder = await run_in_threadpool(write_upload, upload, uploads)
        run_id = uuid.uuid4().hex
        job = Job(id=run_id, folder=folder,
                  task=Task(kind=kind, scenario=folder / upload.scenario, options=options))
        try:
            await run_in_threadpool(store.add_run, NewRun(
                id=run_id, kind=kind.value, scenario_sha256=upload.sha256,
                scenario_name=upload.scenario, files=upload.files,
                parameters=_plain(options), seed=seed, sustain_version=sustain.__version__,
                background=background))
            manager.submit(job)
        except QueueFull as exc:
            body = problem(str(exc))
            await run_in_threadpool(store.finish, run_id, Status.FAILED, error=body)
            return _error(429, body)
        finally:
            if not job.finished.is_set() and manager.get(run_id) is None:  # not queued
                await run_in_threadpool(shutil.rmtree, folder, True)
        if background:
            return JSONResponse({"id": run_id, "status": Status.QUEUED.value,
                                 "job": f"/api/jobs/{run_id}"}, status_code=202,
                                headers={"Location": f"/api/jobs/{run_id}"})
        while not job.finished.is_set():
            await asyncio.sleep(WAIT_SECONDS)
        if job.status is Status.DONE and job.result is not None:
            return Response(job.result, media_type="application/json",
                            headers={"X-Sustain-Run": run_id})
        if job.status is Status.CANCELLED:
            return _error(409, problem(f"run {run_id} was cancelled"))
        error = job.error or Failure(message="error: the run failed")
        return _error(422, {**error.to_dict(), "run": run_id})

    @app.post("/api/evaluate", openapi_extra=_SCENARIO_BODY,
              summary="Readiness of every fleet with the stock held (sustain evaluate)")
    async def evaluate(
        request: Request, method: Method = "vari-metric",
        over_time: Annotated[bool, Query(description="Readiness at days 0, K, 2K, … D "
                                         "through the scenario's deliveries, tempo, "
                                         "attrition and battle damage.")] = False,
        days: Annotated[int | None, Query(description="With over_time: horizon D "
                                          f"(default {OVER_TIME_DAYS}).")] = None,
        step: Annotated[int | None, Query(description="With over_time: days between "
                                          f"points K (default {OVER_TIME_STEP}).")] = None,
        exponential: Annotated[bool, Query(description="With over_time: exponential "
                                           "repair and transit times of the same means "
                                           "(default deterministic).")] = False,
        background: Background = False,
    ) -> Response:
        options = evaluate_options(method, over_time=over_time, days=days, step=step,
                                   exponential=exponential)
        return await submit(request, Kind.EVALUATE, options, background)

    @app.post("/api/optimize", openapi_extra=_SCENARIO_BODY,
              summary="The cheapest spares for a target, or the most readiness for a budget "
              "(sustain optimize)")
    async def optimize(
        request: Request,
        target: Annotated[list[str] | None, Query(
            description="0.9 (every fleet), SYSTEM=0.95, SYSTEM@SITE=0.9; repeat for "
            "several")] = None,
        budget: float | None = None,
        method: Method = "vari-metric",
        refine_seconds: float = REFINE_SECONDS,
        background: Background = False,
    ) -> Response:
        if method == "exact":
            raise OptionError(EXACT_NOT_FOR_OPTIMIZE)
        check_optimize_options(target, budget, refine_seconds)
        options = {"target": target or [], "budget": budget, "method": method,
                   "refine_seconds": refine_seconds}
        return await submit(request, Kind.OPTIMIZE, options, background)

    @app.post("/api/simulate", openapi_extra=_SCENARIO_BODY,
              summary="Monte Carlo simulation with confidence intervals (sustain simulate)")
    async def simulate(
        request: Request, days: float = 730, reps: int = 200, seed: int = 7,
        warmup: float | None = None, compare: bool = False,
        failures_while_down: bool = False, cannibalisation: bool | None = None,
        exponential: bool = False, background: Background = False,
    ) -> Response:
        check_options(days, reps, seed, warmup, 1)
        options = {"days": days, "reps": reps, "seed": seed, "warmup": warmup,
                   "compare": compare, "failures_while_down": failures_while_down,
                   "cannibalisation": cannibalisation, "exponential": exponential}
        return await submit(request, Kind.SIMULATE, options, background, seed=seed)

    @app.post("/api/stockpile", openapi_extra=_SCENARIO_BODY,
              summary="Donors' stocks, production and consumption by month (sustain "
              "stockpile)")
    async def stockpile(request: Request, usage_from_fleets: bool = False,
                        availability: bool = True,
                        background: Background = False) -> Response:
        options = {"usage_from_fleets": usage_from_fleets, "availability": availability}
        return await submit(request, Kind.STOCKPILE, options, background)

    @app.post("/api/next", openapi_extra=_SCENARIO_BODY,
              summary="The offers that buy the most mission-capable system-days within a "
              "budget (sustain next)")
    async def next_(request: Request, budget: float, days: int = NEXT_DAYS,
                    step: int = NEXT_STEP, background: Background = False) -> Response:
        return await submit(request, Kind.NEXT, next_options(budget, days, step), background)

    @app.post("/api/sweep", openapi_extra=_SCENARIO_BODY,
              summary="How readiness or cost move when the inputs are wrong (sustain sweep)")
    async def sweep(
        request: Request,
        vary: Annotated[list[str] | None, Query(
            description="NAME=LOW:HIGH (mtbf, repair_days, order_ship_days, tempo); "
            "repeat for several")] = None,
        select: Annotated[list[str] | None, Query(
            description="items=ID,…, systems=ID,… or sites=ID,…")] = None,
        samples: Annotated[int | None, Query(
            description="Instead of vary: scenarios drawn from the uncertainty: "
            "section")] = None,
        seed: int = 7,
        measure: Literal["availability", "cost"] = "availability",
        target: Annotated[list[str] | None, Query(
            description="0.9, SYSTEM=0.95, SYSTEM@SITE=0.9; repeat for several")] = None,
        method: Literal["vari-metric", "metric"] = "vari-metric",
        refine_seconds: float = 0.0,
        background: Background = False,
    ) -> Response:
        options = sweep_options(vary=vary or [], select=select or [], samples=samples,
                                seed=seed, measure=measure, target=target or [],
                                method=method, refine_seconds=refine_seconds)
        return await submit(request, Kind.SWEEP, options, background,
                            seed=None if samples is None else seed)

    async def run_or_404(run_id: str) -> dict[str, Any] | JSONResponse:
        row = await run_in_threadpool(store.get, run_id)
        if row is None:
            return _error(404, problem(f"no run {run_id!r}"))
        return row

    @app.get("/api/jobs/{run_id}", summary="A run's status, progress and, when done, its "
             "document")
    async def job_status(run_id: str) -> Any:
        job = manager.get(run_id)
        live = None  # (status, progress) of a run still going, read before its row
        if job is not None and not job.finished.is_set():
            live = (job.status, job.progress)
            if live[0] not in (Status.QUEUED, Status.RUNNING):
                # It is being finished: wait until its result is stored, then read that.
                await run_in_threadpool(job.finished.wait, FINISH_WAIT_SECONDS)
                live = None
        row = await run_or_404(run_id)
        if isinstance(row, JSONResponse):
            return row
        row["progress"] = None
        if live is not None and row["status"] in (Status.QUEUED, Status.RUNNING):
            row["status"] = live[0].value
            if live[1] is not None:
                row["progress"] = {"done": live[1][0], "total": live[1][1]}
        return row

    @app.get("/api/jobs/{run_id}/result", summary="A finished run's document, exactly as "
             "returned")
    async def job_result(run_id: str) -> Response:
        row = await run_or_404(run_id)
        if isinstance(row, JSONResponse):
            return row
        text = await run_in_threadpool(store.result_text, run_id)
        if text is None:
            return _error(409, problem(f"run {run_id} is {row['status']}: it has no result"))
        return Response(text, media_type="application/json")

    @app.delete("/api/jobs/{run_id}", summary="Cancel a queued or running run")
    async def job_cancel(run_id: str) -> Any:
        row = await run_or_404(run_id)
        if isinstance(row, JSONResponse):
            return row
        if not manager.cancel(run_id):
            return _error(409, problem(f"run {run_id} is {row['status']} already"))
        job = manager.get(run_id)
        if job is None:  # it was queued: cancelled at once
            return {"id": run_id, "status": Status.CANCELLED.value}
        # Running: the worker is killed at the supervisor's next look.
        await run_in_threadpool(job.finished.wait, 10)
        return {"id": run_id, "status": job.status.value}

    @app.get("/api/runs", summary="The run history, newest first")
    async def runs(limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   offset: Annotated[int, Query(ge=0)] = 0) -> Any:
        return await run_in_threadpool(lambda: store.list(limit=limit, offset=offset))

    @app.get("/api/runs/{run_id}", summary="One run: scenario, parameters, seed, version, "
             "timing, status and document")
    async def run(run_id: str) -> Any:
        return await run_or_404(run_id)

    app.add_middleware(Guard, token=settings.token, max_bytes=settings.max_upload_bytes)
    return app
