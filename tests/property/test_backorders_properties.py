"""Invariants of the backorder moments on random pipelines (Hypothesis).

For ``B = (X − s)⁺``: ``EBO(s) − EBO(s + 1) = P(X > s)`` (so EBO decreases and is
convex in the stock), ``EBO ≥ (m − s)⁺``, ``EBO(0) = m``, the fill rate ``P(X < s)``
is a probability that increases with the stock, and ``0 ≤ VBO ≤ Var X`` (the map
``x ↦ (x − s)⁺`` is 1-Lipschitz); and a row's results do not depend, to the
last bit, on the other rows evaluated with it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sustain.readiness.backorders import backorder_moments, ebo_table, is_poisson

SETTINGS = settings(max_examples=60, deadline=None)

means = st.one_of(
    st.just(0.0),
    st.floats(1e-9, 1e-3),
    st.floats(1e-3, 8.0),
    st.floats(8.0, 600.0),
    st.floats(600.0, 1e4),
)
ratios = st.one_of(st.just(1.0), st.floats(1.0, 1.0001), st.floats(1.0, 60.0))
rows = st.lists(
    st.tuples(means, ratios, st.integers(0, 150) | st.integers(0, 12_000)), min_size=1, max_size=25
)


def columns(data: list[tuple[float, float, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = np.array([d[0] for d in data])
    v = m * np.array([d[1] for d in data])
    s = np.array([d[2] for d in data], dtype=np.float64)
    return m, v, s


@SETTINGS
@given(rows)
def test_ebo_decreases_by_the_tail_probability_and_is_convex(
    data: list[tuple[float, float, int]],
) -> None:
    m, v, s = columns(data)
    b0, b1, b2 = (backorder_moments(m, v, s + k) for k in range(3))
    d0, d1 = b0.ebo - b1.ebo, b1.ebo - b2.ebo
    tol = 1e-12 * np.maximum(b0.ebo, 1.0)
    assert np.all(d0 >= -tol)
    assert np.all(d1 >= -tol)
    assert np.all(d0 >= d1 - tol)  # convex
    # EBO(s) − EBO(s + 1) = P(X > s) = 1 − P(X < s + 1)
    np.testing.assert_allclose(d0, 1.0 - b1.fill_rate, rtol=0, atol=1e-11 * max(1.0, m.max()))


@SETTINGS
@given(rows)
def test_bounds(data: list[tuple[float, float, int]]) -> None:
    m, v, s = columns(data)
    res = backorder_moments(m, v, s)
    assert np.all(res.ebo >= np.maximum(m - s, 0.0) * (1.0 - 1e-12))
    assert np.all(res.ebo <= m * (1.0 + 1e-12))
    var_x = np.where(is_poisson(m, v), m, v)
    assert np.all(res.vbo >= 0.0)
    assert np.all(res.vbo <= var_x * (1.0 + 1e-9))
    assert np.all((res.fill_rate >= 0.0) & (res.fill_rate <= 1.0))
    nxt = backorder_moments(m, v, s + 1)
    assert np.all(nxt.fill_rate >= res.fill_rate - 1e-15)
    np.testing.assert_array_equal(res.fill_rate[m == 0.0], 1.0)
    for arr in (res.ebo, res.vbo, res.fill_rate):
        assert np.all(np.isfinite(arr))


@SETTINGS
@given(rows)
def test_zero_stock_gives_the_mean(data: list[tuple[float, float, int]]) -> None:
    m, v, _ = columns(data)
    res = backorder_moments(m, v, np.zeros(m.size))
    np.testing.assert_allclose(res.ebo, m, rtol=1e-9)
    np.testing.assert_allclose(res.vbo, np.where(is_poisson(m, v), m, v), rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(rows, st.integers(0, 40))
def test_table_matches_moments(data: list[tuple[float, float, int]], top: int) -> None:
    m, v, _ = columns(data)
    table = ebo_table(m, v, top)
    k = np.arange(top + 1, dtype=np.float64)
    want = backorder_moments(m[:, None], v[:, None], k[None, :]).ebo
    np.testing.assert_allclose(table, want, rtol=1e-9, atol=1e-300)


#: Rows that make a batch large enough for the series to run term by term over many
#: rows (small batches finish each row in a block).
_FILLER = np.random.default_rng(17)
_FILL_M = np.exp(_FILLER.uniform(np.log(1e-3), np.log(50.0), 3000))
_FILL_V = _FILL_M * _FILLER.uniform(1.0, 3.0, 3000)
_FILL_S = np.floor(_FILL_M + _FILLER.uniform(0.0, 6.0, 3000))


@SETTINGS
@given(rows)
def test_rows_do_not_depend_on_the_batch(data: list[tuple[float, float, int]]) -> None:
    m, v, s = columns(data)
    alone = backorder_moments(m, v, s)
    k = m.size
    big = backorder_moments(
        np.concatenate([_FILL_M, m]), np.concatenate([_FILL_V, v]), np.concatenate([_FILL_S, s])
    )
    np.testing.assert_array_equal(big.ebo[-k:], alone.ebo)
    np.testing.assert_array_equal(big.vbo[-k:], alone.vbo)
    np.testing.assert_array_equal(big.fill_rate[-k:], alone.fill_rate)
