"""Adaptive tests of one grade band: precision, item use, exposure and retest overlap (issue 17).

For a band (P1-2, P3-4, P5-6, J1-3) the pool is the band's *test* items; the simulees come from the
band's population of the simulated pilot (:func:`reading_tests.pilot.band_population`), which is also the
CAT's prior.  Per test length L:

* ``rmse`` = sqrt(mean (θ̂ − θ)²) of fixed-length tests, with its bootstrap SE over simulees;
* ``never_used`` = items no simulee was given; ``max_exposure`` = max_i (simulees given item i) / N with
  Sympson–Hetter calibrated to ``r_max`` (raised to L/n + 0.05 when the pool is too small for it);
* ``overlap`` = mean over simulees of |A ∩ B| / L for two tests of the same student a term apart (the
  second with θ + ``growth`` and fresh random draws): the share of the second test already seen;
* ``retest_rmse`` = RMSE of that second test, and ``norepeat_rmse`` of the same second test when the items
  of the first are excluded, as the LMS does (no repeats within ``GIGA_NO_REPEAT_TERMS``): what the
  no-repeat rule costs in precision on this pool; ``norepeat_short`` = the share of such second tests the
  pool could not fill to L items.

Every figure carries its uncertainty: bootstrap SEs over simulees for the RMSEs, the binomial SE of the
maximum exposure, the SE of the mean overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reading_tests.cat.bank import CatPool
from reading_tests.cat.selection import ExposureControl
from reading_tests.cat.session import CatDesign
from reading_tests.cat.simulation import SimulationResult, calibrate_sympson_hetter, simulate
from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams


@dataclass(frozen=True)
class BandResult:
    """One row of the band table."""

    band: str
    length: int
    pool: int
    rmse: float
    rmse_se: float
    never_used: int
    max_exposure: float
    r_max: float
    overlap: float
    max_exposure_se: float = 0.0
    overlap_se: float = 0.0
    retest_rmse: float = 0.0
    retest_rmse_se: float = 0.0
    norepeat_rmse: float = 0.0
    norepeat_rmse_se: float = 0.0
    norepeat_short: float = 0.0

    def row(self) -> str:
        return (
            f"{self.band}\t{self.length}\t{self.pool}\t{self.rmse:.3f} ± {self.rmse_se:.3f}\t"
            f"{self.never_used}\t{self.max_exposure:.2f} ± {self.max_exposure_se:.2f} "
            f"(r_max {self.r_max:.2f})\t{self.overlap:.2f} ± {self.overlap_se:.2f}\t"
            f"{self.retest_rmse:.3f} ± {self.retest_rmse_se:.3f}\t"
            f"{self.norepeat_rmse:.3f} ± {self.norepeat_rmse_se:.3f}\t{self.norepeat_short:.2f}"
        )


HEADER = (
    "band\tL\tpool\tRMSE ± SE\tnever used\tmax exposure (SH) ± SE\tretest overlap ± SE\t"
    "retest RMSE (repeats allowed)\tretest RMSE (no repeats, LMS)\tshort retests (no repeats)"
)


def band_pool(params: ItemParams, item_ids: Sequence[str]) -> CatPool:
    """A CAT bank of the given items, with the skill (and genre) columns for content balancing."""
    sub = params.subset(list(item_ids))
    return CatPool.build(sub.item_ids, sub.a, sub.b, sub.c, attributes=sub.extra)


def study_band(
    params: ItemParams,
    item_ids: Sequence[str],
    *,
    band: str,
    length: int,
    simulees: int = 1000,
    seed: int = 0,
    r_max: float = 0.25,
    growth: float = 0.15,
) -> BandResult:
    """Simulate ``length``-item adaptive tests of one band (see the module docstring)."""
    from reading_tests.pilot import band_population

    if len(item_ids) < length:
        raise InvalidInput(f"{band}: {len(item_ids)} test items cannot fill a {length}-item test")
    bank = band_pool(params, item_ids)
    mean, sd = band_population(band)
    content = None
    if "skill" in bank.attributes:
        attr = bank.attributes["skill"]
        counts = np.bincount(attr.codes, minlength=len(attr.categories))
        content = {"skill": {cat: counts[k] / bank.size for k, cat in enumerate(attr.categories)}}
    design = CatDesign.build(
        bank, max_items=length, min_items=length, content=content, prior_mean=mean, prior_sd=sd
    )
    r_used = max(r_max, length / bank.size + 0.05)
    calibration = calibrate_sympson_hetter(
        design, min(r_used, 1.0), seed=seed + 101, n_simulees=500, theta_mean=mean, theta_sd=sd
    )
    design = design.with_exposure(
        ExposureControl.build("sympson-hetter", bank=bank, sh_parameters=calibration.parameters)
    )
    rng = np.random.default_rng(seed)
    theta = mean + sd * rng.standard_normal(simulees)
    first = simulate(design, theta, seed=seed + 1)
    second = simulate(design, theta + growth, seed=seed + 2)
    # the same second test as the LMS gives it: nothing the student saw in the first
    fresh = simulate(design, theta + growth, seed=seed + 2, exclude=first.items)
    boot = rng.integers(0, simulees, size=(200, simulees))

    def rmse_and_se(result: SimulationResult) -> tuple[float, float]:
        err2 = (result.theta_hat - result.theta) ** 2
        return float(np.sqrt(err2.mean())), float(np.sqrt(err2[boot].mean(axis=1)).std(ddof=1))

    rmse, rmse_se = rmse_and_se(first)
    retest, retest_se = rmse_and_se(second)
    norepeat, norepeat_se = rmse_and_se(fresh)
    shares = np.array([len(set(a) & set(b)) / length for a, b in zip(first.items, second.items, strict=True)])
    top = float(first.exposure_rates.max())
    return BandResult(
        band=band,
        length=length,
        pool=bank.size,
        rmse=rmse,
        rmse_se=rmse_se,
        never_used=int(np.sum(first.administered == 0)),
        max_exposure=top,
        r_max=float(min(r_used, 1.0)),
        overlap=float(shares.mean()),
        max_exposure_se=float(np.sqrt(top * (1 - top) / simulees)),
        overlap_se=float(shares.std(ddof=1) / np.sqrt(simulees)),
        retest_rmse=retest,
        retest_rmse_se=retest_se,
        norepeat_rmse=norepeat,
        norepeat_rmse_se=norepeat_se,
        norepeat_short=float(np.mean([len(items) < length for items in fresh.items])),
    )
