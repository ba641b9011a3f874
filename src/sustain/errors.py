"""Exceptions raised by Sustain.

The tree::

    SustainError
      ScenarioError          a scenario file is malformed (carries .issues: list[Issue])
      MissingExtraError      an optional dependency is not installed (names the extra)
      MethodError            a method cannot run on this scenario (e.g. exact on 3 echelons)

Every message names the file, row or key it is about.  The CLI turns any
``SustainError`` into one message on stderr and exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How serious an :class:`Issue` is."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One problem found in a scenario.

    Parameters
    ----------
    where : str
        The file and, when known, the line or row: ``"air.yaml line 12"``,
        ``"items.csv row 1042"``.
    path : str
        The key path inside the scenario: ``"items[3].mtbf_hours"``.  Empty for
        problems with the whole file.
    message : str
        What is wrong, with the offending value and, when one exists, a hint.
    severity : Severity
        Errors stop the run; warnings are reported.
    """

    where: str
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        head = f"{self.where}: {self.path}" if self.path else self.where
        tag = "warning: " if self.severity is Severity.WARNING else ""
        return f"{head}: {tag}{self.message}"


class SustainError(Exception):
    """Base class of every error Sustain raises on purpose."""


class ScenarioError(SustainError):
    """A scenario has one or more errors; ``issues`` lists them.

    ``total`` is the number of errors found when ``issues`` shows only some of them
    (the rest summed up in lines "… and N more problems like this").
    """

    def __init__(self, issues: list[Issue], *, total: int | None = None) -> None:
        self.issues = list(issues)
        errors = [i for i in self.issues if i.severity is Severity.ERROR]
        n = len(errors) if total is None else total
        self.total = n
        head = f"{n:,} problem{'s' if n != 1 else ''} in the scenario:"
        super().__init__("\n".join([head, *(f"  {i}" for i in errors)]))


class MissingExtraError(SustainError):
    """An optional dependency is needed for this input or option."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(
            f"{what} needs the optional dependencies of sustain[{extra}]: "
            f"pip install 'sustain[{extra}]'"
        )


class AccuracyError(SustainError):
    """A number could not be computed to the accuracy Sustain promises (the inputs'
    magnitudes lie where a numerical library fails); never returned as a NaN."""


class MethodError(SustainError):
    """The requested evaluation method does not apply to this scenario."""
