"""Property-based tests of small-cell suppression (lms.board.suppression).

Over random two-way tables (schools × grades, random class sizes) with their margins:
- no visible cell or total describes between 1 and k − 1 students;
- no hidden cell can be recovered: an independent integer program (scipy's MILP, not the LP audit used by
  the implementation) finds, for every hidden cell, another non-negative integer table that agrees with
  every visible value and every row/column equation but gives that cell a different value.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from lms.board.suppression import (
    bridges,
    cell_bounds,
    round_count,
    round_share,
    suppress_shares,
    suppress_table,
    with_margins,
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[list[int]], int]:
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 4))
    k = draw(st.sampled_from([5, 10]))
    # class sizes: mostly realistic, with many small and empty cells
    size = st.one_of(st.integers(0, 3 * k), st.integers(0, k), st.just(0))
    counts = [[draw(size) for _ in range(cols)] for _ in range(rows)]
    return counts, k


def _alternative_exists(full: np.ndarray, hidden: np.ndarray, cell: tuple[int, int], above: bool) -> bool:
    """Is there an integer table consistent with the visible values in which ``cell`` is different?"""
    r, c = full.shape[0] - 1, full.shape[1] - 1
    n = full.size
    idx = np.arange(n).reshape(full.shape)
    lower = np.where(hidden, 0, full).astype(float).ravel()
    upper = np.where(hidden, np.inf, full).astype(float).ravel()
    v = float(full[cell])
    if above:
        lower[idx[cell]] = v + 1
    else:
        if v < 1:
            return False
        upper[idx[cell]] = v - 1
    rows_a = []
    for i in range(r + 1):
        a = np.zeros(n)
        a[idx[i, :c]] = 1
        a[idx[i, c]] = -1
        rows_a.append(a)
    for j in range(c + 1):
        a = np.zeros(n)
        a[idx[:r, j]] = 1
        a[idx[r, j]] = -1
        rows_a.append(a)
    result = milp(
        np.zeros(n),
        constraints=LinearConstraint(np.array(rows_a), 0, 0),
        integrality=np.ones(n),
        bounds=Bounds(lower, upper),
    )
    return bool(result.status == 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_small_cell_visible_no_hidden_cell_recoverable(case: tuple[list[list[int]], int]) -> None:
    counts, k = case
    table = suppress_table(counts, k)
    visible = table.full[~table.hidden]
    assert not ((visible > 0) & (visible < k)).any(), (counts, table.hidden)
    for cell in map(tuple, np.argwhere(table.hidden)):
        assert _alternative_exists(table.full, table.hidden, cell, above=True) or _alternative_exists(
            table.full, table.hidden, cell, above=False
        ), f"hidden cell {cell} of {table.full.tolist()} is recoverable"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=2, max_size=6), st.sampled_from([5, 10]))
def test_shares_never_expose_a_small_part_nor_allow_subtraction(parts: list[int], k: int) -> None:
    hidden = suppress_shares(parts, k)
    assert all(hidden[i] or not (0 < p < k) for i, p in enumerate(parts))
    assert sum(hidden) != 1  # the shares add up to 100 %: one hidden share alone would be recoverable


def test_a_worked_example_hides_a_partner_in_the_row_and_the_column() -> None:
    table = suppress_table([[3, 20, 15], [12, 11, 30], [25, 22, 40]], 10)
    assert table.hidden[0, 0]
    assert table.hidden[0].sum() >= 2 and table.hidden[:, 0].sum() >= 2
    assert not table.grand_hidden


def test_rounding_is_as_documented() -> None:
    assert [round_count(n, 5) for n in (10, 12, 13, 17, 18, 102)] == [10, 10, 15, 15, 20, 100]
    assert round_count(15, 10) == 20 and round_count(14, 10) == 10 and round_count(7, 1) == 7
    assert [round_share(x) for x in (0.0, 0.004, 0.005, 0.125, 0.999, 1.0)] == [0, 0, 1, 13, 100, 100]


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_fast_audit_agrees_with_linear_programming(data: st.DataObject) -> None:
    """Bridges of the hidden-cell graph are exactly the cells whose LP bounds coincide (all cells ≥ 1)."""
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    counts = [[data.draw(st.integers(1, 30)) for _ in range(cols)] for _ in range(rows)]
    full = with_margins(counts)
    hidden = np.array([[data.draw(st.booleans()) for _ in range(cols + 1)] for _ in range(rows + 1)])
    fixed = {m for m, (lo, hi) in cell_bounds(full, hidden).items() if hi - lo < 0.5}
    assert set(bridges(hidden)) == fixed
