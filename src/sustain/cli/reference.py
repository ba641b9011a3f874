"""The command-line reference page (``docs/cli.md``), made from the commands themselves.

``python -m sustain.cli.reference > docs/cli.md`` writes it; a test checks that the
page in the repository is what this prints, so that every option of every command is
documented as the command defines it.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import typer

from sustain.cli.main import app

HEAD = """\
# Command-line reference

Every command and option of `sustain`, as `sustain COMMAND --help` prints them. A
tour of the commands is in the [README](../README.md); the scenario format in
[scenario.md](scenario.md); exit codes and how output files are written in the
README (*Exit codes*, *How outputs are written*).

<!-- Made by `python -m sustain.cli.reference > docs/cli.md`; edit the commands'
help texts, not this page. -->
"""

#: The JSON document each command prints with ``--json``, and where it is described.
DOCUMENTS = {
    "evaluate": "`fleets` (per fleet: `system`, `site`, `count`, `availability`, "
    "`expected_available`, `fill_rate`, `mean_wait_days`), `items` (per item and site that "
    "stocks or sees demand: `stock`, `demand_per_day`, `pipeline_mean`, `pipeline_var`, "
    "`ebo`, `fill_rate`), `stock_cost` and `sites` (per site: `demand_per_day`, "
    "`fill_rate`, `mean_wait_days`: [optimize.md](optimize.md#service-targets)); with "
    "`--over-time` the series of [method.md](method.md#readiness-over-time); with "
    "`--stock` the plans of [stock-plans.md](stock-plans.md#json---json); with `laterals` "
    "in the scenario, `lateral_share` per fleet and per item row "
    "([method.md](method.md#lateral-resupply))",
    "optimize": "the document of `evaluate` for the recommended stock, plus `curve` (the "
    "efficient points: [optimize.md](optimize.md)) and the purchases; with `--fill-rate` "
    "or `--max-wait`, `service_targets`",
    "simulate": "`days`, `replications`, `seed`, `warmup_days`, `fleets` (availability, "
    "its 95 % interval, the series), `items` (mean backorders, fill rate): "
    "[simulate.md](simulate.md#outputs)",
    "stockpile": "month by month per consumable and donor: "
    "[stockpile.md](stockpile.md#the-answers)",
    "oryx": "counts, period and rates: [oryx.md](oryx.md)",
    "sweep": "`measure` and per factor `name`, `low`, `high` and each fleet's `base`, "
    "`at_low`, `at_high` (the cost measure: `cost`); with `--samples` the quantiles per "
    "fleet, and with `--importance` the Sobol' indices under `importance`: "
    "[sweep.md](sweep.md#json---json)",
}


_TYPES = {"str": "text", "float": "number", "int": "integer", "Path": "path"}


def _cell(text: str) -> str:
    """One table cell: one line, ``|`` escaped (also inside code spans)."""
    return " ".join(text.split()).replace("|", "\\|")


def _names(record: str) -> str:
    """``-t, --target <list[str]>`` as ``-t, --target <text>…`` (a repeatable option)."""
    record = re.sub(r"<list\[(\w+)\]>", lambda m: f"<{_TYPES.get(m[1], m[1])}>…", record)
    return re.sub(r"<(\w+)>", lambda m: f"<{_TYPES.get(m[1], m[1])}>", record)


# Typer's commands are click's (Typer carries its own copy): read through their own
# help records, as ``--help`` prints them.


def markdown() -> str:
    """The reference page: one section per command, its arguments and options."""
    group: Any = typer.main.get_command(app)
    parts = [HEAD]
    for name, cmd in group.commands.items():
        ctx = cmd.make_context(name, [], resilient_parsing=True)
        args = [p for p in cmd.params if p.param_type_name == "argument"]
        opts = [p for p in cmd.params if p.param_type_name == "option"]
        usage = " ".join(["sustain", name, *(a.name.upper() for a in args), "[OPTIONS]"])
        parts += [f"## `sustain {name}`", "", _cell(cmd.help or ""), "", "```sh",
                  usage, "```", ""]
        for a in args:
            parts.append(f"- `{a.name.upper()}`: {_cell(a.help or '')}")
        parts += ["", "| option | meaning |", "|---|---|"]
        for p in opts:
            names, help_text = p.get_help_record(ctx)
            parts.append(f"| `{_cell(_names(names))}` | {_cell(help_text)} |")
        parts += ["| `--help` | Show the options and exit. |", ""]
        if name in DOCUMENTS:
            parts += [f"`--json`: {DOCUMENTS[name]}.", ""]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
