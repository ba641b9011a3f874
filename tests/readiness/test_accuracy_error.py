"""A negative binomial tail that SciPy cannot give is an error that names the
pipeline, never a NaN and never a bare ArithmeticError (the CLI shows it as one
message with exit code 2)."""

from __future__ import annotations

import numpy as np
import pytest

from sustain.errors import AccuracyError, SustainError
from sustain.readiness import backorders


def test_failing_incomplete_beta_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    nan = lambda *args: np.full(np.broadcast(*args).shape, np.nan)  # noqa: E731
    monkeypatch.setattr(backorders.special, "betainc", nan)
    monkeypatch.setattr(backorders.special, "betaincc", nan)
    fit = backorders._fit(np.array([50.0, 60.0]), np.array([500.0, 90.0]))
    with pytest.raises(AccuracyError) as caught:
        backorders._nb_at_least_safe(fit, np.array([55.0, 61.0]),
                                     np.array([np.nan, 0.3]))
    assert isinstance(caught.value, SustainError)
    assert str(caught.value).startswith("a pipeline of mean 50 and variance 500 (1 such): ")
