"""One term's board rebuild, vectorised (issue 22): every group conditioned at once gives each group what it
gets alone, the figures stay those of the former group-by-group code (up to rounding), and a term rebuilt
alone stores exactly what a full rebuild stores for it (every column), on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from lms.board import aggregates
from lms.board.aggregates import N_BANDS, cell_sums, cells_sums, condition_on_group, condition_on_groups
from lms.board.models import BoardCell, BoardFigure
from lms.board.service import refresh_aggregates
from tests.lms.test_board_service import build_history


def reference_condition(eap: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The group-by-group EM before issue 22 (``mean``/``var``), as the oracle."""
    s = np.maximum(se, 1e-6)
    if eap.size < 5:
        return eap.copy(), s.copy(), 0.0, 1.0
    lam = np.maximum(1.0 / s**2 - 1.0, 1e-6)
    t = (eap / s**2) / lam
    mu, tau2 = float(eap.mean()), float(eap.var() + (s**2).mean())
    for _ in range(200):
        precision = lam + 1.0 / tau2
        m = (lam * t + mu / tau2) / precision
        new_mu = float(m.mean())
        new_tau2 = max(float(((m - new_mu) ** 2 + 1.0 / precision).mean()), 1e-4)
        done = abs(new_mu - mu) < 1e-7 and abs(new_tau2 - tau2) < 1e-7
        mu, tau2 = new_mu, new_tau2
        if done:
            break
    precision = lam + 1.0 / tau2
    return (lam * t + mu / tau2) / precision, np.sqrt(1.0 / precision), mu, math.sqrt(tau2)


def _groups(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 45, 300)  # many below 5 (kept as they are), some large
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n = int(sizes.sum())
    return rng.normal(0.2, 1.1, n), rng.uniform(0.15, 0.9, n), starts


def test_all_groups_at_once_give_each_group_exactly_what_it_gets_alone() -> None:
    eap, se, starts = _groups(1)
    m, sd, mu, tau = condition_on_groups(eap, se, starts)
    for g, (start, end) in enumerate(zip(starts, [*starts[1:], eap.size], strict=True)):
        alone = condition_on_group(eap[start:end], se[start:end])
        assert np.array_equal(alone[0], m[start:end]) and np.array_equal(alone[1], sd[start:end])
        assert (alone[2], alone[3]) == (mu[g], tau[g])


def test_the_figures_are_those_of_the_former_group_by_group_code() -> None:
    eap, se, starts = _groups(2)
    m, sd, mu, tau = condition_on_groups(eap, se, starts)
    for g, (start, end) in enumerate(zip(starts, [*starts[1:], eap.size], strict=True)):
        ref = reference_condition(eap[start:end], se[start:end])
        assert np.allclose(ref[0], m[start:end], rtol=0, atol=1e-12)
        assert np.allclose(ref[1], sd[start:end], rtol=0, atol=1e-12)
        assert math.isclose(ref[2], mu[g], abs_tol=1e-12) and math.isclose(ref[3], tau[g], abs_tol=1e-12)
    empty = condition_on_groups(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))
    assert empty[0].size == 0 and empty[2].size == 0


def test_band_counts_per_plausible_value_are_counted_as_before() -> None:
    rng = np.random.default_rng(3)
    pv = rng.normal(0, 1.5, (57, 5))
    sums = cell_sums(rng.normal(0, 1, 57), rng.uniform(0.2, 0.6, 57), rng.random(57) < 0.1, pv)
    bands = np.searchsorted(aggregates._BAND_CUTS_THETA, pv, side="right")
    expected = [[int(np.count_nonzero(bands[:, j] == b)) for b in range(N_BANDS)] for j in range(5)]
    assert sums.pv_bands == expected and all(sum(row) == 57 for row in expected)


def test_all_cells_at_once_sum_each_cell_as_alone() -> None:
    rng = np.random.default_rng(4)
    sizes = rng.integers(1, 30, 80)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n = int(sizes.sum())
    eap, se, guessing = rng.normal(0, 1, n), rng.uniform(0.2, 0.6, n), rng.random(n) < 0.1
    pv = rng.normal(0, 1.4, (n, 5))
    together = cells_sums(eap, se, guessing, pv, starts)
    for cell, start, end in zip(together, starts, [*starts[1:], n], strict=True):
        alone = cell_sums(eap[start:end], se[start:end], guessing[start:end], pv[start:end])
        assert (cell.n, cell.n_guessing, cell.pv_bands, cell.pv_hist) == (
            alone.n, alone.n_guessing, alone.pv_bands, alone.pv_hist,
        )  # fmt: skip
        assert np.allclose(
            [cell.sum_eap, cell.sumsq_eap, cell.sum_se2], [alone.sum_eap, alone.sumsq_eap, alone.sum_se2]
        )
        assert np.allclose(cell.pv_sum, pv[start:end].sum(axis=0))
        assert np.allclose(cell.pv_sumsq, (pv[start:end] ** 2).sum(axis=0))
        assert cell.n_guessing == int(guessing[start:end].sum()) and sum(cell.pv_hist) == 5 * (end - start)


def _rows(session: Session, year: int, term: int) -> list[tuple[Any, ...]]:
    cells = session.exec(
        select(BoardCell)
        .where(BoardCell.school_year == year, BoardCell.term == term)
        .order_by(
            col(BoardCell.skill), col(BoardCell.school_id), col(BoardCell.class_id), col(BoardCell.grade)
        )
    ).all()
    figures = session.exec(
        select(BoardFigure)
        .where(BoardFigure.school_year == year, BoardFigure.term == term)
        .order_by(col(BoardFigure.skill), col(BoardFigure.school_id), col(BoardFigure.grade))
    ).all()
    skip = {"id", "refreshed_at"}
    return [
        *(tuple(v for k, v in c.model_dump().items() if k not in skip) for c in cells),
        *(tuple(v for k, v in f.model_dump().items() if k not in skip) for f in figures),
    ]


def test_a_term_rebuilt_alone_stores_exactly_what_a_full_rebuild_stores(
    db_session: Session, world: Any
) -> None:
    build_history(db_session, world)
    refresh_aggregates(session=db_session)
    full = {period: _rows(db_session, *period) for period in [(2025, 1), (2025, 2)]}
    assert all(full.values())
    for period in full:
        report = refresh_aggregates(session=db_session, period=period)
        assert report.cells > 0
        db_session.expire_all()
        assert _rows(db_session, *period) == full[period]
