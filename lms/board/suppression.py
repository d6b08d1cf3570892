"""Small-cell suppression and rounding of published figures (pure functions, no database).

The rule (also written in the open data's ``metadata.json`` and on the dashboard)
---------------------------------------------------------------------------------
1. **Primary suppression.** A group (cell) of fewer than ``k = min_cell_size`` students tested
   (``0 < n < k``) is hidden together with every figure describing it (mean, SD, shares, histogram).
   Empty cells (``n = 0``) describe nobody and are shown as "no data".
2. **Secondary suppression.** Published tables are two-way tables of counts with their margins
   (e.g. schools × grades, with each school's all-grades total, the city's per-grade total and the grand
   total).  Every row and every column is one linear equation ``Σ cells = total``.  Whenever an equation
   has exactly one hidden member (cell or total), the smallest visible non-empty *other* member is hidden
   too (a cell before the total; ties by position; empty cells are never chosen: they are usually known
   anyway, e.g. no 1st grade in a junior high school); this is iterated over rows and columns to a fixed
   point.
   Finally every hidden cell is **audited**: can its value be recovered from all visible values and all
   equations?  Each hidden cell is an edge between its row and its column in a bipartite graph; the
   cells on a cycle of that graph can all move by ±1 along the cycle (alternating) without changing any
   total, and every hidden cell holds at least 1 student (empty cells are never hidden), so such a cell
   has at least two consistent integer values.  A hidden cell on no cycle (a *bridge*) is fixed by the
   equations, i.e. recoverable by subtraction; then the smallest visible non-empty member of its row or
   column is hidden as well and the audit runs again.  (If a hidden cell were empty the audit falls back
   to linear programming bounds, exact here because the constraint matrix is totally unimodular.)
3. **Shares inside a group** (share per band, share at guessing level) follow the same idea on a
   one-way table with the group total: a share whose (expected) count lies in ``(0, k)`` is hidden, and if
   exactly one share of a group is hidden, the next-smallest one is hidden too (they sum to 100 %).
4. **Rounding.** Published counts of students are rounded to the nearest multiple of ``count_rounding``
   (default 5; half up) — the exact numbers are never published.  Shares are rounded to whole percent,
   means and SDs on the reported scale to whole points, standard errors to one decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class SuppressedTable:
    """A two-way count table with margins and the mask of hidden cells.

    ``full`` has shape ``(R + 1, C + 1)``: ``full[:R, :C]`` are the cells, ``full[:R, C]`` the row totals,
    ``full[R, :C]`` the column totals and ``full[R, C]`` the grand total.  ``hidden`` has the same shape.
    """

    full: IntArray
    hidden: BoolArray

    @property
    def cells_hidden(self) -> BoolArray:
        return self.hidden[:-1, :-1]

    @property
    def row_totals_hidden(self) -> BoolArray:
        return self.hidden[:-1, -1]

    @property
    def col_totals_hidden(self) -> BoolArray:
        return self.hidden[-1, :-1]

    @property
    def grand_hidden(self) -> bool:
        return bool(self.hidden[-1, -1])


def with_margins(counts: Sequence[Sequence[int]] | IntArray) -> IntArray:
    """The ``(R + 1) × (C + 1)`` table of ``counts`` with row, column and grand totals."""
    x = np.asarray(counts, dtype=np.int64)
    if x.ndim != 2:
        raise ValueError("counts must be a two-dimensional table")
    if (x < 0).any():
        raise ValueError("counts cannot be negative")
    r, c = x.shape
    full = np.zeros((r + 1, c + 1), dtype=np.int64)
    full[:r, :c] = x
    full[:r, c] = x.sum(axis=1)
    full[r, :c] = x.sum(axis=0)
    full[r, c] = x.sum()
    return full


def primary_mask(values: IntArray, min_cell_size: int) -> BoolArray:
    """Cells describing between 1 and ``min_cell_size − 1`` students."""
    return np.asarray((values > 0) & (values < min_cell_size))


def _groups(shape: tuple[int, int]) -> list[list[tuple[int, int]]]:
    """Every linear equation of the table as its members, the total last."""
    rows, cols = shape
    groups = [[(i, j) for j in range(cols)] for i in range(rows)]
    groups += [[(i, j) for i in range(rows)] for j in range(cols)]
    return groups


def _hide_partner(full: IntArray, hidden: BoolArray, group: list[tuple[int, int]]) -> bool:
    """Hide the smallest visible non-empty member of ``group`` (cells before the total).

    Empty cells are never partners: an empty cell is often known anyway (no 3rd grade in a junior high
    school), so hiding it protects nothing.
    """
    candidates = [m for m in group[:-1] if not hidden[m] and full[m] > 0] or [
        m for m in group[-1:] if not hidden[m] and full[m] > 0
    ]
    if not candidates:
        return False
    best = min(candidates, key=lambda m: (int(full[m]), m))
    hidden[best] = True
    return True


def _pair_rule(full: IntArray, hidden: BoolArray) -> None:
    changed = True
    while changed:
        changed = False
        for group in _groups((full.shape[0], full.shape[1])):
            if sum(bool(hidden[m]) for m in group) == 1 and _hide_partner(full, hidden, group):
                changed = True


def cell_bounds(full: IntArray, hidden: BoolArray) -> dict[tuple[int, int], tuple[float, float]]:
    """For every hidden cell, the least and greatest value consistent with what is visible (LP)."""
    unknowns = [(int(m[0]), int(m[1])) for m in np.argwhere(hidden)]
    if not unknowns:
        return {}
    index = {m: k for k, m in enumerate(unknowns)}
    a_eq: list[list[float]] = []
    b_eq: list[float] = []
    for group in _groups((full.shape[0], full.shape[1])):
        row = [0.0] * len(unknowns)
        rhs = 0.0
        for pos, member in enumerate(group):
            sign = -1.0 if pos == len(group) - 1 else 1.0  # cells − total = 0
            if member in index:
                row[index[member]] += sign
            else:
                rhs -= sign * float(full[member])
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
    bounds: dict[tuple[int, int], tuple[float, float]] = {}
    for member, k in index.items():
        objective = np.zeros(len(unknowns))
        objective[k] = 1.0
        if not a_eq:
            bounds[member] = (0.0, float("inf"))
            continue
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        lo = float(low.fun) if low.status == 0 else 0.0
        hi = float(-high.fun) if high.status == 0 else float("inf")
        bounds[member] = (lo, hi)
    return bounds


def bridges(hidden: BoolArray) -> list[tuple[int, int]]:
    """Hidden cells on no cycle of the row–column graph of hidden cells (fixed by the equations)."""
    rows = hidden.shape[0]
    edges = [(int(i), int(j)) for i, j in np.argwhere(hidden)]
    adjacency: dict[int, list[tuple[int, int]]] = {}
    for k, (i, j) in enumerate(edges):
        adjacency.setdefault(i, []).append((rows + j, k))
        adjacency.setdefault(rows + j, []).append((i, k))
    out = []
    for k, (i, j) in enumerate(edges):
        seen, stack = {i}, [i]
        while stack:
            node = stack.pop()
            for other, edge in adjacency[node]:
                if edge != k and other not in seen:
                    seen.add(other)
                    stack.append(other)
        if rows + j not in seen:
            out.append((i, j))
    return out


def _exposed(full: IntArray, hidden: BoolArray) -> list[tuple[int, int]]:
    if (full[hidden] >= 1).all():
        return bridges(hidden)
    return [m for m, (lo, hi) in cell_bounds(full, hidden).items() if hi - lo < 0.5]  # pragma: no cover


def suppress_table(counts: Sequence[Sequence[int]] | IntArray, min_cell_size: int) -> SuppressedTable:
    """Primary and secondary suppression of a two-way count table with margins (module docstring)."""
    full = with_margins(counts)
    hidden = primary_mask(full, min_cell_size)
    while True:
        _pair_rule(full, hidden)
        exposed = _exposed(full, hidden)
        if not exposed:
            return SuppressedTable(full, hidden)
        i, j = exposed[0]
        row = [(i, c) for c in range(full.shape[1])]
        col = [(r, j) for r in range(full.shape[0])]
        visible = [m for m in row + col if not hidden[m] and full[m] > 0]
        if not visible:  # pragma: no cover - cannot happen: a fully hidden row/column has free bounds
            hidden[:, :] = full > 0
            return SuppressedTable(full, hidden)
        hidden[min(visible, key=lambda m: (int(full[m]), m))] = True


def suppress_shares(counts: Sequence[float], min_cell_size: int) -> list[bool]:
    """Hidden flags of the parts of one group (e.g. students per band): primary plus one partner."""
    values = [float(c) for c in counts]
    hidden = [0.0 < v < min_cell_size - 1e-9 for v in values]
    if sum(hidden) == 1:
        visible = [(v, i) for i, v in enumerate(values) if not hidden[i]]
        if visible:
            hidden[min(visible)[1]] = True
    return hidden


def round_count(n: int, base: int = 5) -> int:
    """``n`` rounded to the nearest multiple of ``base`` (half up), the way counts are published."""
    if base <= 1:
        return int(n)
    return int((n + base // 2) // base * base) if base % 2 else int((2 * n + base) // (2 * base) * base)


def round_share(share: float) -> int:
    """A share (0–1) as whole percent (half up)."""
    return int(np.floor(share * 100.0 + 0.5))
