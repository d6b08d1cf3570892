"""Calibration with a machine-readable report: fit indices and named warnings about suspicious items.

:func:`calibrate_with_report` runs :func:`reading_tests.calibration.calibrate` and adds what a
psychometrician checks before trusting a parameter file:

- fit indices: log-likelihood ``ℓ``, number of free parameters ``p``, ``AIC = −2ℓ + 2p``,
  ``BIC = −2ℓ + p log N`` (N = students with a response), and for complete data with at most 20 items the
  likelihood-ratio statistic against the saturated multinomial ``G² = 2 Σ_u n_u log(n_u / (N P_u))`` over
  the observed patterns ``u`` (``df = 2^J − 1 − p``);
- warnings that name items (``code`` is stable, ``message`` is Japanese for teachers' screens):

  ``miskey``            negative fitted discrimination, or a negative item–rest correlation (the
                        students who do well on the other items get this one wrong more often);
  ``distractor_beats_key`` (when the chosen options are given) a wrong option that the high scorers
                        choose more often than the key (see :mod:`reading_tests.distractors`);
  ``near_constant``     fewer than 2 % (or more than 98 %) correct answers;
  ``too_few_responses`` fewer than ``MIN_RESPONSES`` responses;
  ``extreme_difficulty`` ``|b| > B_EXTREME``: outside the θ range, not estimable from these students;
  ``separation``        discrimination above ``A_SEPARATION``: the item (nearly) separates the students and
                        its slope is not identified;
  ``se_unavailable``    a free item without a finite, positive standard error;
  ``too_few_items`` / ``too_few_students``: the whole calibration is not identified;
  ``not_converged``     EM stopped at ``max_iter``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from reading_tests.calibration import Calibration, calibrate
from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import FloatArray, Model

MIN_RESPONSES = 50
A_SEPARATION = 5.0
B_EXTREME = 6.0
NEAR_CONSTANT = 0.02
MIN_ITEMS = 3
MIN_STUDENTS = 30
MAX_G2_ITEMS = 20
UNIDENTIFIED = frozenset({"too_few_items", "too_few_students"})  # the CLI refuses these (exit 2)

# Public SE names (see reading_tests.calibration): "louis" = full observed information by Louis's
# identity (analytic, exact), "exact" = numerical derivative of the exact gradient (slow reference),
# "block" = Louis's identity per item (cross-item terms dropped; SEs too small on long complete forms).
SE_CHOICES: dict[str, Literal["auto", "louis", "full", "block", "none"]] = {
    "auto": "auto",
    "louis": "louis",
    "exact": "full",
    "full": "full",
    "block": "block",
    "none": "none",
}
MODEL_CHOICES = ("rasch", "1pl", "2pl", "3pl")


@dataclass(frozen=True)
class CalibrationWarning:
    """One finding about an item (``item_id`` None for the whole calibration)."""

    code: str
    item_id: str | None
    message: str
    value: float | None = None


@dataclass
class CalibrationReport:
    """Everything :func:`calibrate_with_report` knows about a fit (serialisable with :meth:`to_dict`)."""

    model: str
    n_students: int
    n_items: int
    n_responses: int
    loglik: float
    n_parameters: int
    aic: float
    bic: float
    g2: float | None
    g2_df: int | None
    iterations: int
    converged: bool
    latent_mean: float
    latent_sd: float
    quadrature_nodes: int
    se_method: str
    priors: dict[str, Any]
    tolerance: float
    warnings: list[CalibrationWarning] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["warnings"] = [asdict(w) for w in self.warnings]
        clean: dict[str, Any] = _finite(out)
        return clean

    def items_with(self, code: str) -> list[str]:
        """Item ids that carry warning ``code``."""
        return [w.item_id for w in self.warnings if w.code == code and w.item_id is not None]


def _finite(value: Any) -> Any:
    """Replace NaN/∞ by None so that the report is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def resolve_model(name: str) -> tuple[Model, bool]:
    """``"rasch"`` → ("1pl", rasch=True); the others map to themselves."""
    if name not in MODEL_CHOICES:
        raise InvalidInput(f"unknown model {name!r} (use {', '.join(MODEL_CHOICES)})")
    if name == "rasch":
        return "1pl", True
    return name, False  # type: ignore[return-value]


def calibrate_with_report(
    data: ResponseData,
    model: str = "2pl",
    *,
    anchors: ItemParams | None = None,
    n_nodes: int | None = None,
    c_prior: tuple[float, float] = (5.0, 17.0),
    log_a_prior: tuple[float, float] | None = (0.0, 1.0),
    se: str = "auto",
    tol: float = 1e-4,
    max_iter: int = 2000,
    choices: dict[tuple[str, str], str] | None = None,
) -> tuple[Calibration, CalibrationReport]:
    """Calibrate (see :func:`reading_tests.calibration.calibrate`) and build the report.

    ``model`` may be ``"rasch"`` (1PL with a = 1); ``se`` is one of :data:`SE_CHOICES`.
    Items whose answers are all correct or all wrong still raise ``InvalidInput`` (naming the item).
    ``choices`` (``(student_id, item_id) → option``) adds the distractor check.
    """
    base, rasch = resolve_model(model)
    if se not in SE_CHOICES:
        raise InvalidInput(f"unknown SE method {se!r} (use auto, louis, exact, block or none)")
    method = SE_CHOICES[se]
    result = calibrate(
        data,
        base,
        anchors=anchors,
        rasch=rasch,
        n_nodes=n_nodes,
        c_prior=c_prior,
        log_a_prior=log_a_prior,
        se=method,
        tol=tol,
        max_iter=max_iter,
    )
    report = _report(data, result, model, anchors, result.se_method, c_prior, log_a_prior, tol)
    if choices is not None:
        anchor_ids = set(anchors.item_ids) if anchors is not None else set()
        report.warnings.extend(distractor_warnings(data, choices, anchor_ids))
    return result, report


def distractor_warnings(
    data: ResponseData, choices: dict[tuple[str, str], str], skip: set[str]
) -> list[CalibrationWarning]:
    """``distractor_beats_key`` warnings for the items not in ``skip``."""
    from reading_tests.distractors import HIGH_GROUP, analyse_distractors

    out = []
    for res in analyse_distractors(data, choices):
        beating = res.beating_key
        if res.item_id in skip or not beating:
            continue
        key_share = next(o.share_high for o in res.options if o.is_key)
        top = max(beating, key=lambda o: o.share_high)
        out.append(
            CalibrationWarning(
                "distractor_beats_key",
                res.item_id,
                f"項目 {res.item_id}: 上位{round(100 * HIGH_GROUP)}%の受検者は"
                f"正答 '{res.key}'（{key_share:.0%}）より"
                f"誤答選択肢 '{top.option}'（{top.share_high:.0%}）を多く選んでいます。"
                "キーを確認してください。",
                top.share_high - key_share,
            )
        )
    return out


def count_parameters(model: str, n_free_items: int, estimate_latent: bool) -> int:
    """Free parameters: a per item (one shared for 1PL, none for Rasch), b per item, c per 3PL item."""
    base, rasch = resolve_model(model)
    slopes = 0 if rasch else (1 if base == "1pl" else n_free_items)
    guess = n_free_items if base == "3pl" else 0
    return slopes + n_free_items + guess + (2 if estimate_latent else 0)


def _report(
    data: ResponseData,
    result: Calibration,
    model: str,
    anchors: ItemParams | None,
    method: str,
    c_prior: tuple[float, float],
    log_a_prior: tuple[float, float] | None,
    tol: float,
) -> CalibrationReport:
    keep = data.items_per_student() > 0
    n_students = int(keep.sum())
    anchor_ids = set(anchors.item_ids) if anchors is not None else set()
    free = np.array([item not in anchor_ids for item in data.item_ids])
    n_par = count_parameters(model, int(free.sum()), bool(anchor_ids & set(data.item_ids)))
    ll = result.loglik
    g2, g2_df = _g2(data, ll, n_par)
    base, _ = resolve_model(model)
    priors: dict[str, Any] = {"latent": "N(0, 1)" if not anchor_ids else "N(mu, sigma) estimated"}
    if base == "3pl":
        priors["c"] = {"beta": list(c_prior)}
        priors["log_a"] = None if log_a_prior is None else {"normal": list(log_a_prior)}
    report = CalibrationReport(
        model=model,
        n_students=n_students,
        n_items=data.n_items,
        n_responses=data.n_responses,
        loglik=ll,
        n_parameters=n_par,
        aic=-2.0 * ll + 2.0 * n_par,
        bic=-2.0 * ll + n_par * math.log(max(n_students, 1)),
        g2=g2,
        g2_df=g2_df,
        iterations=result.n_iter,
        converged=result.converged,
        latent_mean=result.latent_mean,
        latent_sd=result.latent_sd,
        quadrature_nodes=result.n_nodes,
        se_method={"full": "exact"}.get(method, method),
        priors=priors,
        tolerance=tol,
    )
    report.warnings = item_warnings(data, result.params, free)
    if data.n_items < MIN_ITEMS:
        report.warnings.insert(
            0,
            CalibrationWarning(
                "too_few_items",
                None,
                f"項目が{data.n_items}個しかありません。識別力と能力の尺度は{MIN_ITEMS}項目以上で推定してください。",
                float(data.n_items),
            ),
        )
    if n_students < MIN_STUDENTS:
        report.warnings.insert(
            0,
            CalibrationWarning(
                "too_few_students",
                None,
                f"受検者が{n_students}人しかいません。推定値は信頼できません（目安: 項目あたり500人以上）。",
                float(n_students),
            ),
        )
    if not result.converged:
        report.warnings.insert(
            0,
            CalibrationWarning(
                "not_converged",
                None,
                f"EMが{result.n_iter}ステップで収束しませんでした。",
                float(result.n_iter),
            ),
        )
    return report


def _g2(data: ResponseData, loglik: float, n_par: int) -> tuple[float | None, int | None]:
    """G² against the saturated model, for complete data with few items (else None)."""
    if data.n_items > MAX_G2_ITEMS or data.n_responses != data.n_students * data.n_items:
        return None, None
    x = data.to_dense().astype(np.int64)
    codes = x @ (1 << np.arange(data.n_items, dtype=np.int64))
    counts = np.bincount(codes)
    counts = counts[counts > 0].astype(float)
    n = float(x.shape[0])
    # ℓ = Σ_u n_u log P_u, so G² = 2 (Σ_u n_u log(n_u / N) − ℓ)
    saturated = float((counts * np.log(counts / n)).sum())
    return 2.0 * (saturated - loglik), int(2**data.n_items - 1 - n_par)


def item_rest_correlation(data: ResponseData) -> FloatArray:
    """Point-biserial correlation of each item with the proportion correct on the student's other items.

    Using the proportion (not the sum) keeps sparse forms comparable; students with no other answer are
    left out.
    """
    answered = data.answered
    n_ans = np.asarray(answered.sum(axis=1)).ravel()
    n_cor = np.asarray(data.correct.sum(axis=1)).ravel()
    out = np.full(data.n_items, np.nan)
    coo = answered.tocoo()
    x = np.asarray(data.correct[coo.row, coo.col]).ravel()
    others = n_ans[coo.row] - 1
    ok = others > 0
    rest = np.where(ok, (n_cor[coo.row] - x) / np.maximum(others, 1), np.nan)
    for j in range(data.n_items):
        sel = ok & (coo.col == j)
        if sel.sum() < 3:
            continue
        xj, rj = x[sel], rest[sel]
        if xj.std() == 0 or rj.std() == 0:
            continue
        out[j] = float(np.corrcoef(xj, rj)[0, 1])
    return out


def item_warnings(data: ResponseData, params: ItemParams, free: np.ndarray) -> list[CalibrationWarning]:
    """Named warnings for the free items of a calibration (see the module docstring)."""
    p = params.subset(list(data.item_ids))
    n = data.responses_per_item()
    correct = np.asarray(data.correct.sum(axis=0)).ravel()
    pvalue = correct / np.maximum(n, 1)
    r_rest = item_rest_correlation(data)
    out: list[CalibrationWarning] = []
    for j, item in enumerate(data.item_ids):
        if not free[j]:
            continue
        if p.a[j] < 0 or (not math.isnan(r_rest[j]) and r_rest[j] < 0):
            out.append(
                CalibrationWarning(
                    "miskey",
                    item,
                    f"項目 {item}: 正答キーの誤りの疑い"
                    f"（識別力 {p.a[j]:.3f}、項目-残り得点相関 {r_rest[j]:.3f}）。"
                    "他の問題がよくできる受検者ほど誤答しています。キーを確認してください。",
                    float(r_rest[j]) if not math.isnan(r_rest[j]) else float(p.a[j]),
                )
            )
        if n[j] < MIN_RESPONSES:
            out.append(
                CalibrationWarning(
                    "too_few_responses",
                    item,
                    f"項目 {item}: 回答が{int(n[j])}件しかありません"
                    f"（目安: {MIN_RESPONSES}件以上、CAT投入は500件以上）。",
                    float(n[j]),
                )
            )
        if pvalue[j] < NEAR_CONSTANT or pvalue[j] > 1 - NEAR_CONSTANT:
            out.append(
                CalibrationWarning(
                    "near_constant",
                    item,
                    f"項目 {item}: 正答率 {pvalue[j]:.1%} で、ほぼ全員が同じ反応です。困難度が不安定です。",
                    float(pvalue[j]),
                )
            )
        if abs(p.b[j]) > B_EXTREME:
            out.append(
                CalibrationWarning(
                    "extreme_difficulty",
                    item,
                    f"項目 {item}: 困難度 {p.b[j]:.1f} は能力の範囲（±{B_EXTREME:g}）の外です。"
                    "推定値は使えません。",
                    float(p.b[j]),
                )
            )
        if p.a[j] > A_SEPARATION:
            out.append(
                CalibrationWarning(
                    "separation",
                    item,
                    f"項目 {item}: 識別力 {p.a[j]:.1f} は大きすぎます。"
                    "受検者を完全に分離しており推定できません。",
                    float(p.a[j]),
                )
            )
        se_b = p.se_b[j]
        se_a = p.se_a[j]
        bad_b = not (math.isfinite(se_b) and se_b > 0)
        bad_a = p.model[j] != "1pl" and not (math.isfinite(se_a) and se_a > 0)
        if bad_b or bad_a:
            out.append(
                CalibrationWarning(
                    "se_unavailable",
                    item,
                    f"項目 {item}: 標準誤差が得られません（情報行列が特異）。この項目の推定値は使えません。",
                    None,
                )
            )
    return out
