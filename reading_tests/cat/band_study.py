"""Adaptive tests of one grade band: precision, item use, exposure and retest overlap (issue 17).

For a band (P1-2, P3-4, P5-6, J1-3) the pool is the band's *test* items; the simulees come from the
band's population of the simulated pilot (:func:`reading_tests.pilot.band_population`), which is also the
CAT's prior.  Per test length L:

* ``rmse`` = sqrt(mean (θ̂ − θ)²) of fixed-length tests, with its bootstrap SE over simulees;
* ``never_used`` = items no simulee was given; ``max_exposure`` = max_i (simulees given item i) / N with
  Sympson–Hetter calibrated to ``r_max`` (raised to L/n + 0.05 when the pool is too small for it);
* ``overlap`` = mean over simulees of |A ∩ B| / L for two tests of the same student a term apart (the
  second with θ + ``growth`` and fresh random draws): the share of the second test already seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reading_tests.cat.bank import CatPool
from reading_tests.cat.selection import ExposureControl
from reading_tests.cat.session import CatDesign
from reading_tests.cat.simulation import calibrate_sympson_hetter, simulate
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

    def row(self) -> str:
        return (
            f"{self.band}\t{self.length}\t{self.pool}\t{self.rmse:.3f} ± {self.rmse_se:.3f}\t"
            f"{self.never_used}\t{self.max_exposure:.2f} (r_max {self.r_max:.2f})\t{self.overlap:.2f}"
        )


HEADER = "band\tL\tpool\tRMSE ± SE\tnever used\tmax exposure (SH)\tretest overlap"


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
    err2 = (first.theta_hat - first.theta) ** 2
    boot = rng.integers(0, simulees, size=(200, simulees))
    rmse_boot = np.sqrt(err2[boot].mean(axis=1))
    overlap = np.mean([len(set(a) & set(b)) / length for a, b in zip(first.items, second.items, strict=True)])
    return BandResult(
        band=band,
        length=length,
        pool=bank.size,
        rmse=float(np.sqrt(err2.mean())),
        rmse_se=float(rmse_boot.std(ddof=1)),
        never_used=int(np.sum(first.administered == 0)),
        max_exposure=float(first.exposure_rates.max()),
        r_max=float(min(r_used, 1.0)),
        overlap=float(overlap),
    )
