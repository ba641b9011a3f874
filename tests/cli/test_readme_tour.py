"""Every command of the README's tour runs as written.

The tour's ``sustain`` lines are read from the README itself, in order, and run in a
copy of the repository's examples (so the files they write land in a scratch
folder), with ``../shared`` beside it as in a checkout. Each must exit 0.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, SHARED

SUSTAIN = Path(sys.executable).with_name("sustain")


def tour_commands() -> list[str]:
    """The ``sustain …`` lines of the README's "A short tour" block, comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A short tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None, "the README's tour has no ```sh block"
    lines = []
    for line in block.group(1).splitlines():
        command = line.split(" #", 1)[0].strip()
        if command.startswith("sustain "):
            lines.append(command)
    return lines


COMMANDS = tour_commands()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch repository folder with the examples, ``../shared`` beside it."""
    base = tmp_path_factory.mktemp("tour")
    repo = base / "sustain"
    shutil.copytree(EXAMPLES, repo / "examples")
    if SHARED.is_dir():
        (base / "shared").symlink_to(SHARED)
    return repo


def test_the_tour_is_read() -> None:
    assert len(COMMANDS) >= 15
    assert all(c.split()[1] in {"evaluate", "optimize", "simulate", "oryx", "stockpile",
                                      "sweep"}
               for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=range(len(COMMANDS)))
def test_tour_command_runs(checkout: Path, command: str) -> None:
    args = shlex.split(command)
    needs = [a for a in args if a.startswith("../shared/")]
    if needs and not (checkout / needs[0]).exists():
        pytest.skip(f"{needs[0]} is not beside this checkout")
    done = subprocess.run([str(SUSTAIN), *args[1:]], cwd=checkout, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr
