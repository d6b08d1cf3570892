"""Item selection: maximum Fisher information, content balancing and exposure control.

The next item maximises a priority index over the items still eligible for the examinee:

    PI_i = I_i(θ̂) · Π_d f_{d, k_d(i)}

where ``I_i(θ̂)`` is the 3PL Fisher information at the current EAP estimate and, for every balanced
content attribute d (skill, genre), ``k_d(i)`` is item i's category and ``f_{d,k}`` the share of that
category's quota still open (the maximum priority index of Cheng & Chang 2009, with quotas from target
proportions; see :class:`ContentBalancer`).  Without content balancing ``PI_i = I_i(θ̂)`` (maximum
information, Lord 1980).

Exposure control then decides among the best items:

* ``"none"``: the argmax;
* ``"randomesque"`` (Kingsbury & Zara 1989): uniformly at random among the top ``k``;
* ``"sympson-hetter"`` (Sympson & Hetter 1985): walk down the ranking; the best remaining item i is
  administered with probability ``K_i`` and otherwise set aside for the rest of this examinee's test.
  ``K_i`` are calibrated by simulation (:func:`reading_tests.cat.simulation.calibrate_sympson_hetter`) so
  that ``P(A_i) = P(S_i) K_i ≤ r_max``.

Random draws come from :func:`reading_tests.cat.rng.uniform` keyed by the session seed and step, so a
choice is a pure function of the session state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from reading_tests.cat.bank import CatPool, IntArray
from reading_tests.cat.rng import uniform
from reading_tests.errors import InvalidInput
from reading_tests.irt import FloatArray

ExposureMethod = Literal["none", "randomesque", "sympson-hetter"]
EXPOSURE_METHODS: tuple[ExposureMethod, ...] = ("none", "randomesque", "sympson-hetter")

_UNAVAILABLE = -1.0  # information is ≥ 0, so a negative priority marks an ineligible item


def quotas(proportions: Sequence[float], length: int) -> list[int]:
    """Integer quotas ``q_k`` with ``Σ q_k = L`` closest to ``π_k L`` (largest-remainder / Hamilton).

    Each category first gets ``⌊π_k L⌋``; the ``L − Σ⌊π_k L⌋`` remaining places go to the largest
    fractional parts ``π_k L − ⌊π_k L⌋`` (ties to the earlier category).

    Parameters
    ----------
    proportions : sequence of float
        Target proportions ``π_k ≥ 0`` summing to 1.
    length : int
        Test length L.

    Returns
    -------
    list of int
    """
    exact = [p * length for p in proportions]
    base = [int(np.floor(x + 1e-9)) for x in exact]
    left = length - sum(base)
    order = sorted(range(len(exact)), key=lambda k: (-(exact[k] - base[k]), k))
    for k in order[: max(left, 0)]:
        base[k] += 1
    return base


@dataclass(frozen=True, eq=False)
class ContentBalancer:
    """Maximum-priority-index content balancing towards target proportions.

    For attribute d with categories k, target proportions ``π_{d,k}`` and maximum test length L, the
    quotas are ``q_{d,k}`` = :func:`quotas` (π_d, L).  After ``x_{d,k}`` items of category k,

        f_{d,k} = max(q_{d,k} − x_{d,k}, 0) / q_{d,k}      (0 when q_{d,k} = 0)

    so a category's items lose priority as its quota fills and get none once it is full (they remain
    a fallback when no item with positive priority is left).  In a test that runs to L items with a
    pool rich enough in every skill × genre cell, the counts end exactly at the quotas; a test that
    stops early on SE has proportions close to, not exactly at, the targets.

    Attributes
    ----------
    targets : dict of str to dict of str to float
        Target proportions per attribute and category (categories of the pool not named get 0).
    length : int
        Test length L the quotas are computed for (the maximum length).
    """

    targets: Mapping[str, Mapping[str, float]]
    length: int
    _codes: tuple[list[int], ...] = field(repr=False)
    _quota: tuple[list[float], ...] = field(repr=False)
    _cell: IntArray = field(repr=False)

    @classmethod
    def build(cls, bank: CatPool, targets: Mapping[str, Mapping[str, float]], length: int) -> ContentBalancer:
        """Check the targets against the pool and compute the quotas.

        Parameters
        ----------
        bank : CatPool
        targets : mapping
            ``{attribute: {category: proportion}}``, proportions ≥ 0 summing to 1 per attribute.
        length : int
            Maximum test length L ≥ 1.

        Raises
        ------
        InvalidInput
            Unknown attribute or category, negative proportions, or sums different from 1.
        """
        codes: list[list[int]] = []
        quota: list[list[float]] = []
        cell = np.zeros(bank.size, dtype=np.intp)
        clean: dict[str, dict[str, float]] = {}
        for name, props in targets.items():
            attr = bank.attributes.get(name)
            if attr is None:
                raise InvalidInput(f"content attribute {name!r} is not in the item pool")
            unknown = sorted(set(props) - set(attr.categories))
            if unknown:
                raise InvalidInput(f"category {unknown[0]!r} of {name!r} has no items in the pool")
            values = [float(props.get(cat, 0.0)) for cat in attr.categories]
            if any(not np.isfinite(v) or v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
                raise InvalidInput(f"target proportions of {name!r} must be ≥ 0 and sum to 1")
            codes.append(attr.codes.tolist())
            quota.append([float(q) for q in quotas(values, length)])
            cell = cell * len(attr.categories) + attr.codes  # row-major index of the item's category cell
            clean[name] = dict(zip(attr.categories, values, strict=True))
        return cls(
            targets=clean,
            length=length,
            _codes=tuple(codes),
            _quota=tuple(quota),
            _cell=cell,
        )

    def quota_counts(self) -> dict[str, dict[str, int]]:
        """The integer quotas ``q_{d,k}`` per attribute and category."""
        return {
            name: {cat: int(q) for cat, q in zip(props, quota, strict=True)}
            for (name, props), quota in zip(self.targets.items(), self._quota, strict=True)
        }

    def counts(self, administered: Sequence[int]) -> list[list[int]]:
        """Content counts ``x_{d,k}``: administered items per attribute d and category k."""
        out = [[0] * len(quota) for quota in self._quota]
        for item in administered:
            self.add(out, item)
        return out

    def add(self, counts: list[list[int]], item: int) -> None:
        """Count one more administered item in ``counts`` (in place): ``x_{d, k_d(item)} += 1``."""
        for codes, row in zip(self._codes, counts, strict=True):
            row[codes[item]] += 1

    def factors(self, counts: list[list[int]]) -> FloatArray:
        """Per-item priority factor ``Π_d f_{d, k_d(i)}`` for the content counts so far.

        The factor depends on the item only through its cell (one category per attribute), so it is
        computed per cell as the outer product ``f_1 ⊗ f_2 ⊗ …`` (a few dozen cells, in plain Python)
        and gathered per item.

        Parameters
        ----------
        counts : list of list of int
            ``x_{d,k}`` from :meth:`counts` / :meth:`add`.

        Returns
        -------
        ndarray of shape (n,)
        """
        cells = [1.0]
        for quota, row in zip(self._quota, counts, strict=True):
            f = [(q - x) / q if q > x else 0.0 for q, x in zip(quota, row, strict=True)]
            cells = [g * h for g in cells for h in f]
        return np.asarray(np.array(cells)[self._cell], dtype=float)


@dataclass(frozen=True, eq=False)
class ExposureControl:
    """Exposure-control settings.

    Attributes
    ----------
    method : {"none", "randomesque", "sympson-hetter"}
    k : int
        Randomesque group size (choose uniformly among the top k; typical 3–10).
    sh_parameters : ndarray of shape (n,), optional
        Sympson–Hetter exposure-control parameters ``K_i ∈ (0, 1]`` (all 1 means no control).
    """

    method: ExposureMethod = "none"
    k: int = 5
    sh_parameters: FloatArray | None = None

    @classmethod
    def build(
        cls, method: str, *, bank: CatPool, k: int = 5, sh_parameters: ArrayLike | None = None
    ) -> ExposureControl:
        """Validate the settings against the pool.

        Raises
        ------
        InvalidInput
            Unknown method, k < 1, or ``K_i`` of the wrong length or outside (0, 1].
        """
        if method not in EXPOSURE_METHODS:
            raise InvalidInput(
                f"exposure control must be one of {', '.join(EXPOSURE_METHODS)} (got {method!r})"
            )
        if k < 1:
            raise InvalidInput(f"the randomesque group size must be ≥ 1 (got {k})")
        sh: FloatArray | None = None
        if method == "sympson-hetter":
            sh = np.ones(bank.size) if sh_parameters is None else np.array(sh_parameters, dtype=float)
            if sh.shape != (bank.size,) or not np.all((sh > 0) & (sh <= 1)):
                raise InvalidInput("Sympson–Hetter parameters need one value in (0, 1] per pool item")
            sh.setflags(write=False)
        return cls(method=method, k=k, sh_parameters=sh)


class Choice(NamedTuple):
    """Outcome of one selection.

    Attributes
    ----------
    item : int or None
        Pool position of the chosen item, None when no eligible item is left.
    rejected : tuple of int
        Items passed over by the Sympson–Hetter lottery at this step (set aside for the rest of the test).
    """

    item: int | None
    rejected: tuple[int, ...] = ()


def priority(
    bank: CatPool,
    theta: float,
    unavailable: list[int],
    *,
    balancer: ContentBalancer | None = None,
    counts: list[list[int]] | None = None,
) -> FloatArray:
    """Priority index ``PI_i = I_i(θ̂) · Π_d f_{d,k_d(i)}``, and −1 for unavailable items.

    ``I_i(θ̂)`` comes from the pool's interpolation table (:meth:`CatPool.information_at`).

    Parameters
    ----------
    bank : CatPool
    theta : float
        Current θ̂.
    unavailable : list of int
        Items the examinee may not get (administered or set aside).
    balancer : ContentBalancer, optional
    counts : list of list of int, optional
        Content counts (:meth:`ContentBalancer.counts`); required with ``balancer``.

    Returns
    -------
    ndarray of shape (n,)
    """
    pi = bank.information_at(theta)
    if balancer is not None:
        if counts is None:
            raise ValueError("content balancing needs the content counts")
        pi *= balancer.factors(counts)
    if unavailable:
        pi[unavailable] = _UNAVAILABLE
    return pi


def select_item(
    bank: CatPool,
    theta: float,
    unavailable: list[int],
    *,
    exposure: ExposureControl,
    seed: int,
    step: int,
    balancer: ContentBalancer | None = None,
    counts: list[list[int]] | None = None,
) -> Choice:
    """Choose the next item by maximum priority with exposure control.

    * none: ``argmax_i PI_i``;
    * randomesque: the j-th best of the top ``min(k, m)`` of the m eligible items, ``j = ⌊u · min(k, m)⌋``;
    * Sympson–Hetter: repeat ``i = argmax PI``; administer if ``u < K_i``, else set i aside.  If every
      eligible item is set aside, the best of them is administered (never reached with sane ``K_i``).

    ``u`` = :func:`reading_tests.cat.rng.uniform` (seed, step, draw).  Ties in PI go to the lower pool
    position, so the choice is a deterministic function of its arguments.

    Parameters
    ----------
    bank : CatPool
    theta : float
        Current θ̂.
    unavailable : list of int
        Items already administered or set aside.
    exposure : ExposureControl
    seed, step : int
        Session seed and number of items administered (keys of the random draws).
    balancer : ContentBalancer, optional
    counts : list of list of int, optional
        Content counts, required with ``balancer``.

    Returns
    -------
    Choice
    """
    pi = priority(bank, theta, unavailable, balancer=balancer, counts=counts)
    if exposure.method == "none":
        best = int(pi.argmax())
        return Choice(best if pi[best] > _UNAVAILABLE else None)
    if exposure.method == "randomesque":
        ranked: list[int] = []
        for _ in range(exposure.k):  # k argmax passes beat a sort or argpartition of the pool for small k
            best = int(pi.argmax())
            if pi[best] <= _UNAVAILABLE:
                break
            ranked.append(best)
            pi[best] = _UNAVAILABLE
        if not ranked:
            return Choice(None)
        return Choice(ranked[int(uniform(seed, step, 0) * len(ranked))])
    sh = exposure.sh_parameters
    assert sh is not None
    rejected: list[int] = []
    draw = 0
    while True:
        best = int(pi.argmax())
        if pi[best] <= _UNAVAILABLE:
            if rejected:  # everything set aside: administer the best of them anyway
                return Choice(rejected[0], tuple(rejected[1:]))
            return Choice(None)
        if uniform(seed, step, draw) < sh[best]:
            return Choice(best, tuple(rejected))
        draw += 1
        rejected.append(best)
        pi[best] = _UNAVAILABLE
