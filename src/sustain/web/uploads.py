"""A scenario sent to the API, written to a fresh folder of its own.

A request carries the scenario as its body (YAML or JSON) or as a multipart form: the
field ``scenario`` holds the scenario file and the field ``files`` (repeated) its table
files, each under the name the scenario's ``{file: …}`` gives.  The files are written
to a new temporary folder and the scenario is loaded from there by the same loader as
on the command line, which reads table files only inside the scenario's folder (no
``..``, no absolute path, no symbolic link out).  A file name that is not a plain
relative path is refused here already, before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sustain.errors import SustainError

#: Longest file name (path inside the upload) accepted.
MAX_NAME_CHARS = 255
#: Most files in one upload (the scenario and its tables).
MAX_FILES = 100
#: The name of a scenario sent as the request body.
BODY_NAMES = {"json": "scenario.json", "yaml": "scenario.yaml"}

_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\:]")


class UploadError(SustainError):
    """An upload that cannot be taken: a bad file name, a missing part, too many files."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Upload:
    """The files of one scenario as sent: the scenario first, then its tables."""

    files: tuple[tuple[str, bytes], ...]

    @property
    def scenario(self) -> str:
        """The scenario file's name (path inside the upload)."""
        return self.files[0][0]

    @property
    def sha256(self) -> str:
        """A hash of every file's name and bytes, in order (scenario first)."""
        h = hashlib.sha256()
        for name, content in self.files:
            raw = name.encode("utf-8")
            h.update(len(raw).to_bytes(8, "big") + raw)
            h.update(len(content).to_bytes(8, "big") + content)
        return h.hexdigest()


def safe_name(name: str) -> str:
    """``name`` if it is a plain relative path (``items.csv``, ``tables/items.csv``).

    Raises
    ------
    UploadError
        Empty, too long, absolute, with a ``..`` or ``.`` part, a backslash, a colon
        (a drive letter) or a control character.
    """
    shown = name if len(name) <= 60 else name[:60] + "…"
    rule = ("a file name must be a relative path inside the upload: no '..', no leading "
            "'/', no backslash, colon or control character")
    if not name or len(name) > MAX_NAME_CHARS:
        raise UploadError(f"file name {shown!r}: {rule} (and 1 to {MAX_NAME_CHARS} characters)")
    path = PurePosixPath(name)
    if (_BAD_CHARS.search(name) or path.is_absolute()
            or any(part in ("..", ".", "") for part in name.split("/"))):
        raise UploadError(f"file name {shown!r}: {rule}")
    return path.as_posix()


def body_upload(body: bytes, content_type: str) -> Upload:
    """A scenario sent as the request body: JSON when the content type says so."""
    if not body.strip():
        raise UploadError("the request has no scenario: send it as the body (YAML or JSON) "
                          "or as the multipart field 'scenario'")
    kind = "json" if "json" in content_type.lower() else "yaml"
    return Upload(files=((BODY_NAMES[kind], body),))


def form_upload(scenario: tuple[str, bytes] | None,
                tables: list[tuple[str, bytes]]) -> Upload:
    """A scenario sent as a multipart form: the scenario and its table files."""
    if scenario is None:
        raise UploadError("the form has no field 'scenario' (the scenario file); its table "
                          "files go in the field 'files'")
    if len(tables) + 1 > MAX_FILES:
        raise UploadError(f"{len(tables) + 1} files: an upload holds at most {MAX_FILES}")
    files = [(safe_name(n), b) for n, b in [scenario, *tables]]
    seen: set[str] = set()
    for name, _ in files:
        if name in seen:
            raise UploadError(f"file name {name!r} is given twice")
        seen.add(name)
    return Upload(files=tuple(files))


def write_upload(upload: Upload, parent: Path) -> Path:
    """Write ``upload`` to a new folder under ``parent`` and return the folder.

    Every file is created anew inside the folder (never through a link); the caller
    removes the folder when the run is over.
    """
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=parent)).resolve()
    try:
        for name, content in upload.files:
            target = folder.joinpath(*PurePosixPath(safe_name(name)).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.parent.resolve().is_relative_to(folder):
                raise UploadError(f"file name {name!r}: outside the upload")
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder
