"""Output files: checked before any work, written all or none, never over an input.

A command that writes files first describes each one as an :class:`Output` (the
option that asked for it and the path given) and calls :func:`check_outputs`
before it loads or computes anything, then :func:`check_not_inputs` once it knows
every file it reads.  When the results are ready, :func:`write_outputs` renders
every file into a temporary file beside its target and, only when all of them
rendered, renames them into place one after the other with SIGINT and SIGTERM held
back, so an error or an interrupt leaves either every output written or none (each
target keeps what it held before).  A signal whose exception Python lost on the way
(:mod:`sustain._signals`) is sent again before the renames, so it too stops them.

Rules for a target path (the README gives them to users):

- a symbolic link is followed: the file it points to is replaced, the link stays;
- a directory, FIFO, socket or device is refused, and so is a read-only file;
- the folder must exist and be writable;
- a path that is one of the run's inputs (after following links, or the same
  file under another name: a hard link) is refused, and so are two outputs that
  name the same file.
"""

from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from sustain import _signals
from sustain._paths import kind_of
from sustain.errors import SustainError

#: File types a plot can be written as (:mod:`sustain.report.plots` draws them).
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
#: Longest part of the target's name kept in the temporary file's name, so the
#: temporary name stays within the file system's limit (255 bytes on most).
TEMP_NAME_KEEP = 64


class OutputError(SustainError):
    """An output file cannot be written where it was asked for."""


@dataclass(frozen=True, slots=True)
class Output:
    """One file a command writes: the option that names it and the path given."""

    option: str
    path: Path

    @property
    def label(self) -> str:
        """``--curve out/c.png``: how messages name this output."""
        return f"{self.option} {self.path}"

    @property
    def target(self) -> Path:
        """The file that will be replaced: the path with every symbolic link followed."""
        return Path(os.path.realpath(self.path))


@dataclass(frozen=True, slots=True)
class Input:
    """A file the run reads, and what it is to the user (``the scenario``)."""

    path: Path
    role: str




def _check_one(out: Output) -> None:
    """Raise :class:`OutputError` when ``out`` cannot be written as a regular file."""
    target = out.target
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a loop of links, a name too long, a folder not searchable
        raise OutputError(f"{out.label}: cannot be written: {exc.strerror}") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(
                f"{out.label}: is {kind_of(st.st_mode)}; outputs are written to regular files only"
            )
        # The write bits, not only access(): a read-only file is refused even for root,
        # whose access() check always succeeds.
        if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise OutputError(f"{out.label}: the file is read-only; make it writable or "
                              "choose another path")
        if not os.access(target, os.W_OK):
            raise OutputError(f"{out.label}: no permission to write the file")
    elif target.is_symlink():  # stat() followed links to nothing: a loop or a dangling chain
        raise OutputError(f"{out.label}: is a symbolic link that cannot be followed")
    folder = target.parent
    shown = target.parent if out.path.is_symlink() else out.path.parent  # as the user wrote it
    if not folder.exists():
        raise OutputError(f"{out.label}: the folder {shown} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{out.label}: {shown} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{out.label}: cannot create files in the folder {shown} "
                          "(permission denied)")


def check_outputs(outputs: Sequence[Output]) -> None:
    """Check every output target before any work is done.

    Raises
    ------
    OutputError
        A target is a folder, FIFO, device or socket, a read-only file, sits in a
        folder that does not exist or cannot be written, or two outputs name one file.
    """
    seen: dict[Path, Output] = {}
    for out in outputs:
        _check_one(out)
        first = seen.setdefault(out.target, out)
        if first is not out:
            raise OutputError(f"{out.label}: names the same file as {first.label}; "
                              "give each output its own file")


def _same_file(a: Path, b: Path) -> bool:
    if Path(os.path.realpath(a)) == Path(os.path.realpath(b)):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def check_not_inputs(outputs: Sequence[Output], inputs: Iterable[Input]) -> None:
    """Refuse an output that would replace a file the run reads.

    Raises
    ------
    OutputError
        Naming the output and which input it is (the scenario, a table file, …).
    """
    listed = list(inputs)
    for out in outputs:
        for inp in listed:
            if _same_file(out.path, inp.path):
                raise OutputError(
                    f"{out.label}: is {inp.role} this run reads; choose another path"
                )


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back until the block ends, then deliver the first one.

    Python runs signal handlers in the main thread, so swapping the handlers there
    holds a signal whichever thread the operating system gave it to.  Elsewhere
    (handlers can only be set from the main thread) the block runs unguarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous: dict[int, Any] = {}
    try:
        for held in (signal.SIGINT, signal.SIGTERM):
            previous[held] = signal.signal(held, hold)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if pending:
            signal.raise_signal(pending[0])


def _temp_for(out: Output) -> Path:
    target = out.target
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name[:TEMP_NAME_KEEP]}.", suffix=".part", dir=target.parent
    )
    os.close(fd)
    return Path(name)


#: Renders one output into the (temporary) path it is given.
Render = Callable[[Path], None]


def text_file(text: str) -> Render:
    """A renderer that writes ``text`` as UTF-8."""

    def render(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return render


def write_outputs(files: Sequence[tuple[Output, Render]]) -> None:
    """Render every output to a temporary file, then rename them all into place.

    Each ``render`` writes its whole file to the path it is given.  Nothing is
    renamed unless every one of them succeeded; the temporary files are removed in
    every case.  The renames run with SIGINT and SIGTERM held back and after checking
    every target again, so only a file system failing between that check and the
    rename could leave some outputs renamed and not others.  New files get the usual
    permissions (``0o666`` less the umask).

    Raises
    ------
    OutputError
        A file could not be written or rendered (the message names the output as the
        user gave it, and the reason), or a target changed since :func:`check_outputs`.
    """
    temps: list[Path] = []
    try:
        for out, render in files:
            try:
                tmp = _temp_for(out)
                temps.append(tmp)
                render(tmp)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                raise OutputError(f"{out.label}: cannot write: {reason}") from None
            except SustainError as exc:  # the renderer's own message, about this output
                raise OutputError(f"{out.label}: {exc}") from None
        umask = os.umask(0)
        os.umask(umask)
        _signals.raise_missed()  # a signal whose exception was lost: nothing renamed
        with _signals_held():
            for out, _ in files:  # a target may have changed while the work ran
                _check_one(out)
            for (out, _), tmp in zip(files, temps, strict=True):
                try:
                    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
                    os.replace(tmp, out.target)
                except OSError as exc:
                    raise OutputError(
                        f"{out.label}: cannot write: {exc.strerror or exc}"
                    ) from None
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
