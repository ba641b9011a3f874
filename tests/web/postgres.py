"""A throwaway PostgreSQL server for the tests, started from Debian's binaries.

:class:`Cluster` runs ``initdb`` on a new temporary folder and starts the server with
``pg_ctl``, listening on a Unix socket in that folder only (no TCP port: nothing
outside this machine's processes can reach it, and no port can clash).  The server
trusts local connections of its one role, ``sustain``.  ``stop()`` stops the server
and removes the folder.

PostgreSQL refuses to run as root (initdb and postgres both check).  Run as root, as
CI does, the folder is handed to the unprivileged user ``nobody`` and the two programs
run as that user through ``runuser``; the tests themselves still run as root and
connect over the socket, whose folder they may read.

The binaries are found by ``pg_config --bindir``, else in
``/usr/lib/postgresql/*/bin`` (Debian's layout, the newest version first).
:func:`find_bindir` returns None when there are none: the tests then skip, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

#: The role the tests connect as (the cluster's superuser).
ROLE = "sustain"
#: The unprivileged user the server runs as when the tests run as root.
SERVER_USER = "nobody"
#: Port number: part of the socket's file name only (the server opens no TCP port).
PORT = 5432
#: Longest wait (seconds) for the server to start or stop.
WAIT_SECONDS = 60


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        try:
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                   check=True, timeout=30).stdout.strip()
            candidates.append(Path(found))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: _version(p.parent.name), reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


class Cluster:
    """A PostgreSQL server in a temporary folder; see the module's docstring."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # Directly under the system's temporary folder: a socket path must be short
        # (about 100 bytes) and, run as root, the server's user must reach the folder.
        self.root = Path(tempfile.mkdtemp(prefix="sustain-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, user=SERVER_USER)
            self._as = ["runuser", "-u", SERVER_USER, "--"]

    def _run(self, *args: str) -> None:
        # In the cluster's folder: the server's user may not read the tests' folder.
        done = subprocess.run([*self._as, *args], capture_output=True, text=True,
                              timeout=WAIT_SECONDS, check=False, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}")

    def start(self) -> None:
        """Make the cluster and start its server."""
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", ROLE,
                  "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
        options = (f"-k {self.socket_dir} -p {PORT} -c listen_addresses='' -c fsync=off "
                   "-c max_connections=200")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "server.log"), "-o", options, "-w", "-t",
                  str(WAIT_SECONDS), "start")

    def stop(self) -> None:
        """Stop the server (at once) and remove its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                          "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server (the driver: psycopg 3)."""
        return f"postgresql://{ROLE}@/{database}?host={self.socket_dir}&port={PORT}"

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(host=str(self.socket_dir), port=PORT, user=ROLE,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
