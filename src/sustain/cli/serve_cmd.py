"""``sustain serve``: the web app's JSON API (FastAPI on uvicorn).

Binds to the loopback interface by default.  Any other address needs a token
(``--token`` or the environment variable ``SUSTAIN_TOKEN``): every request must then
send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from sustain.cli.common import (
    OptionError,
    check_number,
    check_whole,
    command,
    err,
    fail,
)
from sustain.errors import MissingExtraError, SustainError

#: Environment variable holding the token when --token is not given.
TOKEN_VARIABLE = "SUSTAIN_TOKEN"
#: Shortest token accepted (characters).
MIN_TOKEN_CHARS = 16


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/sustain``, else ``~/.local/share/sustain``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sustain"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_serve_options(host: str, port: int, token: str | None) -> str | None:
    """The token to require (None: none), after checking the address and the token.

    Raises
    ------
    OptionError
        A port outside 1-65535; an address that is not loopback without a token; a
        token shorter than :data:`MIN_TOKEN_CHARS`.
    """
    check_whole("--port", port, low=1, high=65_535)
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise OptionError(f"--token: give at least {MIN_TOKEN_CHARS} characters (a random "
                          "one, e.g. from `python -c 'import secrets; "
                          "print(secrets.token_urlsafe())'`)")
    if token is None and not is_loopback(host):
        raise OptionError(
            f"--host {host}: other machines could reach this address; give --token "
            f"(or set {TOKEN_VARIABLE}) so that every request must carry it, or serve on "
            "127.0.0.1")
    return token


@command
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (other than "
                                      "loopback: needs --token).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL for the run history, e.g. "
                                 "postgresql://user@host/sustain (default: SQLite file "
                                 "sustain.db in --data-dir).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder for the SQLite database and "
                                  "uploads (default: ~/.local/share/sustain).")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar=TOKEN_VARIABLE, show_envvar=True,
                                 help="Every request must send 'Authorization: Bearer "
                                 "TOKEN'; needed to listen on an address other than "
                                 "loopback.")
    ] = None,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", help="Largest upload (scenario and table "
                            "files together), in MB.")
    ] = 20,
    max_jobs: Annotated[
        int, typer.Option("--max-jobs", help="Runs at the same time, each in a process "
                          "of its own; more wait in a queue.")
    ] = 2,
    max_queued: Annotated[
        int, typer.Option("--max-queued", help="Runs that may wait; beyond this a request "
                          "is answered 429.")
    ] = 100,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds a run may take before it is "
                            "stopped.")
    ] = 600,
    max_memory_mb: Annotated[
        float, typer.Option("--max-memory-mb", help="Memory a run may take (MB, beyond the "
                            "engines its process has loaded); past it the run stops with "
                            "an out-of-memory message.")
    ] = 4096,
) -> None:
    """Serve the JSON API (the commands as HTTP endpoints, background jobs, run history).

    The API's reference is the page /docs of the running server."""
    try:
        required = check_serve_options(host, port, token)
        check_number("--max-upload-mb", max_upload_mb, low=0, low_open=True,
                     what="a number of MB")
        check_whole("--max-jobs", max_jobs, low=1, high=256)
        check_whole("--max-queued", max_queued, low=0)
        check_number("--time-limit", time_limit, low=0, low_open=True,
                     what="a number of seconds")
        check_number("--max-memory-mb", max_memory_mb, low=0, low_open=True,
                     what="a number of MB")
        try:
            # Imported here, not at the top: the web extra is optional and slow to load.
            import uvicorn

            from sustain.web.app import Settings, create_app
            from sustain.web.db import check_database
        except ImportError:
            raise MissingExtraError("sustain serve", "web") from None
        if db is not None:
            check_database(db)
        settings = Settings(
            data_dir=(data_dir or default_data_dir()).expanduser().absolute(), db_url=db,
            token=required, max_upload_bytes=int(max_upload_mb * 2**20), max_jobs=max_jobs,
            max_queued=max_queued, time_limit_seconds=time_limit,
            max_memory_mb=max_memory_mb)
        app = create_app(settings)
    except SustainError as exc:
        raise fail(exc) from None
    where = f"[{host}]" if ":" in host else host
    err.print(f"sustain serve: http://{where}:{port}/docs (the API's reference); run "
              f"history in {settings.database if db is None else 'the --db database'}",
              markup=False, highlight=False, soft_wrap=True)
    sys.stderr.flush()
    uvicorn.run(app, host=host, port=port, log_level="warning")
