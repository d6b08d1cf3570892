"""A live CAT session: start, record an answer, get the next item, save and resume.

A :class:`CatDesign` (pool + stopping rule + exposure control + content targets, or a fixed form for
pilots) is shared by all sessions of a test; a :class:`CatSession` holds one examinee's state:

* the answered items and their 0/1 responses, the items the Sympson–Hetter lottery set aside, and the
  item currently shown (``pending``);
* the log-posterior of θ on the pool's grid, updated by one vector addition per answer
  (:mod:`reading_tests.cat.estimation`), giving the EAP θ̂ and its SE;
* a seed.  Every random draw of exposure control is ``uniform(seed, step, draw)``
  (:mod:`reading_tests.cat.rng`), so the next item is a pure function of the stored state: a session
  restored with :meth:`CatSession.from_dict` on another server or device continues exactly as it would
  have, and :func:`reading_tests.cat.lookahead.lookahead` predicts the real choices.

``to_dict`` gives a JSON-friendly dict (ids, 0/1, floats, a 53-bit seed); the posterior is rebuilt from
the responses on load, so a stored state cannot disagree with itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from reading_tests.cat.bank import CatPool
from reading_tests.cat.estimation import add_response, eap, prior_log_density
from reading_tests.cat.rng import new_seed
from reading_tests.cat.selection import ContentBalancer, ExposureControl, select_item
from reading_tests.cat.stopping import StoppingRule
from reading_tests.errors import InvalidInput
from reading_tests.irt import FloatArray

STATE_VERSION = 1


@dataclass(frozen=True, eq=False)
class CatDesign:
    """Everything the sessions of one adaptive (or fixed-form) test share.

    Attributes
    ----------
    bank : CatPool
    stopping : StoppingRule
    exposure : ExposureControl
    balancer : ContentBalancer or None
    fixed_form : tuple of int or None
        Pool positions of a fixed form administered in order (pilot mode); adaptive when None.
    prior_mean, prior_sd : float
        Normal prior of θ for EAP (default N(0, 1)).
    fingerprint : str
        Hash of the pool and all settings; a stored session only resumes under the same design.
    """

    bank: CatPool
    stopping: StoppingRule
    exposure: ExposureControl
    balancer: ContentBalancer | None
    fixed_form: tuple[int, ...] | None
    prior_mean: float
    prior_sd: float
    fingerprint: str
    prior_log: FloatArray

    @classmethod
    def build(
        cls,
        bank: CatPool,
        *,
        max_items: int = 20,
        min_items: int = 1,
        se_target: float = 0.0,
        exposure: str = "none",
        randomesque_k: int = 5,
        sh_parameters: ArrayLike | None = None,
        content: Mapping[str, Mapping[str, float]] | None = None,
        fixed_form: Sequence[str] | None = None,
        prior_mean: float = 0.0,
        prior_sd: float = 1.0,
    ) -> CatDesign:
        """Validate and assemble a design.

        Parameters
        ----------
        bank : CatPool
        max_items, min_items, se_target :
            See :class:`~reading_tests.cat.stopping.StoppingRule`; ``max_items ≤`` pool size.
        exposure : {"none", "randomesque", "sympson-hetter"}
        randomesque_k : int
            Randomesque group size.
        sh_parameters : array_like, optional
            Sympson–Hetter ``K_i`` (default all 1).
        content : mapping, optional
            Target proportions ``{attribute: {category: π}}`` for content balancing.
        fixed_form : sequence of str, optional
            Item ids of a fixed form (pilot mode): administered in order, no exposure control or
            balancing; ``max_items`` becomes the form length.
        prior_mean, prior_sd : float
            EAP prior.

        Raises
        ------
        InvalidInput
            On any inconsistent setting (e.g. a maximum length above the pool size).
        """
        form: tuple[int, ...] | None = None
        if fixed_form is not None:
            form = tuple(bank.indices(list(fixed_form)))
            if not form or len(set(form)) != len(form):
                raise InvalidInput("a fixed form needs at least one item and no repeated items")
            max_items = min_items = len(form)
        if max_items > bank.size:
            raise InvalidInput(f"the maximum test length {max_items} exceeds the pool size {bank.size}")
        stopping = StoppingRule(max_items=max_items, min_items=min_items, se_target=se_target)
        control = ExposureControl.build(exposure, bank=bank, k=randomesque_k, sh_parameters=sh_parameters)
        balancer = ContentBalancer.build(bank, content, max_items) if content else None
        prior_log = prior_log_density(bank.grid, prior_mean, prior_sd)
        prior_log.setflags(write=False)
        return cls(
            bank=bank,
            stopping=stopping,
            exposure=control,
            balancer=balancer,
            fixed_form=form,
            prior_mean=prior_mean,
            prior_sd=prior_sd,
            fingerprint=_fingerprint(bank, stopping, control, balancer, form, prior_mean, prior_sd),
            prior_log=prior_log,
        )

    def with_exposure(self, exposure: ExposureControl) -> CatDesign:
        """The same design with other exposure control (e.g. newly calibrated Sympson–Hetter ``K_i``)."""
        return replace(
            self,
            exposure=exposure,
            fingerprint=_fingerprint(
                self.bank,
                self.stopping,
                exposure,
                self.balancer,
                self.fixed_form,
                self.prior_mean,
                self.prior_sd,
            ),
        )


def _fingerprint(
    bank: CatPool,
    stopping: StoppingRule,
    control: ExposureControl,
    balancer: ContentBalancer | None,
    form: tuple[int, ...] | None,
    prior_mean: float,
    prior_sd: float,
) -> str:
    settings = {
        "bank": bank.fingerprint,
        "stopping": [stopping.max_items, stopping.min_items, stopping.se_target],
        "exposure": [control.method, control.k],
        "content": balancer.targets if balancer else None,
        "form": form,
        "prior": [prior_mean, prior_sd],
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=list).encode())
    if control.sh_parameters is not None:
        digest.update(np.ascontiguousarray(control.sh_parameters, dtype="<f8").tobytes())
    return digest.hexdigest()[:16]


class CatSession:
    """One examinee's adaptive test (see the module docstring for how randomness is handled).

    Typical use by a server::

        session = CatSession.start(design)          # or CatSession.from_dict(design, stored)
        item_id = session.next_item()                # show it; None when the test is over
        session.record(item_id, 1)                   # the student's answer
        stored = session.to_dict()                   # persist
    """

    __slots__ = (
        "_counts",
        "_exhausted",
        "_log_post",
        "_unavailable",
        "design",
        "excluded",
        "items",
        "pending",
        "responses",
        "se",
        "seed",
        "set_aside",
        "theta_hat",
    )

    def __init__(self, design: CatDesign, seed: int, excluded: Sequence[int] = ()) -> None:
        self.design = design
        self.seed = int(seed)
        self.excluded: list[int] = sorted(set(excluded))
        self.items: list[int] = []
        self.responses: list[int] = []
        self.set_aside: list[int] = []
        self.pending: int | None = None
        self._unavailable: list[int] = list(self.excluded)
        self._log_post = design.prior_log.copy()
        self.theta_hat, self.se = eap(design.bank.grid, self._log_post, design.bank.moments)
        self._exhausted = False
        self._counts = design.balancer.counts([]) if design.balancer else None

    @classmethod
    def start(cls, design: CatDesign, seed: int | None = None, *, exclude: Iterable[str] = ()) -> CatSession:
        """A new session with θ̂ = prior mean; ``seed`` defaults to a fresh random 53-bit seed.

        ``exclude`` ("no repeat") names items this student must not get in this test: items seen in
        recent terms or used in practice.  Ids outside the pool are ignored (retired items).  Adaptive
        mode never selects them; a fixed form (pilot) is administered as designed.  If the exclusions
        leave fewer items than the minimum length the test ends early, so keep the pool large enough.
        """
        index = design.bank.index
        excluded = [index[i] for i in exclude if i in index] if design.fixed_form is None else []
        session = cls(design, new_seed() if seed is None else seed, excluded)
        session._exhausted = len(session._unavailable) >= design.bank.size
        return session

    @property
    def finished(self) -> bool:
        """True when the stopping rule holds (:meth:`StoppingRule.should_stop`) or no item is left."""
        return self._exhausted or self.design.stopping.should_stop(len(self.items), self.se)

    def next_item(self) -> str | None:
        """The item to show now: the pending one if any, else a newly selected one; None when finished.

        Adaptive mode maximises the priority index at θ̂ with exposure control
        (:func:`reading_tests.cat.selection.select_item`, step = number of items answered); fixed-form
        mode takes the next item of the form.
        """
        if self.pending is None:
            if self.finished:
                return None
            design = self.design
            if design.fixed_form is not None:
                self.pending = design.fixed_form[len(self.items)]
            else:
                choice = select_item(
                    design.bank,
                    self.theta_hat,
                    self._unavailable,
                    exposure=design.exposure,
                    seed=self.seed,
                    step=len(self.items),
                    balancer=design.balancer,
                    counts=self._counts,
                )
                if choice.rejected:
                    self.set_aside.extend(choice.rejected)
                    self._unavailable.extend(choice.rejected)
                if choice.item is None:
                    self._exhausted = True
                    return None
                self.pending = choice.item
        return self.design.bank.item_ids[self.pending]

    def record(self, item_id: str, response: int) -> None:
        """Record the answer to the pending item and update θ̂ and SE.

        ``ℓ ← ℓ + x log P_i(θ) + (1 − x) log Q_i(θ)`` on the grid, then EAP
        (:func:`reading_tests.cat.estimation.eap`).

        Parameters
        ----------
        item_id : str
            Must be the pending item (the one :meth:`next_item` returned).
        response : int
            1 correct, 0 incorrect.

        Raises
        ------
        InvalidInput
            If no item is pending, the id is another item, or the response is not 0/1.
        """
        pending = self.pending
        bank = self.design.bank
        if pending is None or bank.item_ids[pending] != item_id:
            expected = "no item" if pending is None else repr(bank.item_ids[pending])
            raise InvalidInput(f"answer for item {item_id!r} but {expected} is waiting for an answer")
        if response not in (0, 1):
            raise InvalidInput(f"a response must be 0 or 1 (got {response!r})")
        r = int(response)
        if pending in self.set_aside:
            # an item a later selection passed over, answered after all (a client shows what it prefetched
            # from an earlier plan): answered, it is no longer set aside, nor counted twice as unavailable
            self.set_aside.remove(pending)
            self._unavailable.remove(pending)
        add_response(self._log_post, bank, pending, r)
        self.items.append(pending)
        self._unavailable.append(pending)
        self.responses.append(r)
        if self._counts is not None:
            self.design.balancer.add(self._counts, pending)  # type: ignore[union-attr]
        self.pending = None
        self.theta_hat, self.se = eap(bank.grid, self._log_post, bank.moments)
        if len(self._unavailable) >= bank.size:
            self._exhausted = True

    def clone(self) -> CatSession:
        """An independent copy (used by the look-ahead so the real session is never mutated)."""
        other = CatSession.__new__(CatSession)
        other.design = self.design
        other.seed = self.seed
        other.excluded = list(self.excluded)
        other.items = list(self.items)
        other.responses = list(self.responses)
        other.set_aside = list(self.set_aside)
        other.pending = self.pending
        other._unavailable = list(self._unavailable)
        other._log_post = self._log_post.copy()
        other.theta_hat = self.theta_hat
        other.se = self.se
        other._exhausted = self._exhausted
        other._counts = None if self._counts is None else [list(row) for row in self._counts]
        return other

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly state: ``{"version", "design", "seed", "items", "responses", "set_aside",
        "excluded", "pending", "theta_hat", "se", "finished"}`` (item ids as strings, responses 0/1).

        ``excluded`` is optional on load (states saved before it existed have none)."""
        ids = self.design.bank.item_ids
        return {
            "version": STATE_VERSION,
            "design": self.design.fingerprint,
            "seed": self.seed,
            "items": [ids[i] for i in self.items],
            "responses": list(self.responses),
            "set_aside": [ids[i] for i in self.set_aside],
            "excluded": [ids[i] for i in self.excluded],
            "pending": None if self.pending is None else ids[self.pending],
            "theta_hat": self.theta_hat,
            "se": self.se,
            "finished": self.finished,
        }

    @classmethod
    def from_dict(cls, design: CatDesign, data: Mapping[str, Any]) -> CatSession:
        """Rebuild a session from :meth:`to_dict` output (θ̂ and SE are recomputed from the responses).

        Raises
        ------
        InvalidInput
            If the state is malformed, was made under another design, or names unknown items.
        """
        try:
            version, fingerprint, seed = data["version"], data["design"], data["seed"]
            items, responses, set_aside, pending = (
                data["items"],
                data["responses"],
                data["set_aside"],
                data["pending"],
            )
        except (KeyError, TypeError) as error:
            raise InvalidInput(f"the stored CAT session lacks the field {error}") from None
        if version != STATE_VERSION:
            raise InvalidInput(f"the stored CAT session has version {version!r}, expected {STATE_VERSION}")
        if fingerprint != design.fingerprint:
            raise InvalidInput("the stored CAT session was made with another item pool or settings")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise InvalidInput("the stored CAT session's seed must be an integer")
        if not isinstance(items, list) or not isinstance(responses, list) or len(items) != len(responses):
            raise InvalidInput("the stored CAT session needs as many responses as items")
        if not isinstance(set_aside, list):
            raise InvalidInput("the stored CAT session's set_aside must be a list")
        excluded = data.get("excluded", [])
        if not isinstance(excluded, list):
            raise InvalidInput("the stored CAT session's excluded must be a list")
        session = cls(design, seed)
        bank = design.bank
        positions = bank.indices(items)
        # an item both answered and set aside (stored before `record` released it) counts as answered
        answered = set(positions)
        set_aside_positions = [i for i in bank.indices(set_aside) if i not in answered]
        excluded_positions = sorted(set(bank.indices(excluded)))
        used = positions + set_aside_positions + excluded_positions
        if len(set(used)) != len(used):
            raise InvalidInput("the stored CAT session repeats an item")
        for position, response in zip(positions, responses, strict=True):
            if response not in (0, 1) or isinstance(response, bool | float):
                raise InvalidInput(f"a stored response must be 0 or 1 (got {response!r})")
            add_response(session._log_post, bank, position, response)
        session.items = positions
        session.responses = [int(r) for r in responses]
        session.set_aside = set_aside_positions
        session.excluded = excluded_positions
        session._unavailable = excluded_positions + positions + set_aside_positions
        session.theta_hat, session.se = eap(bank.grid, session._log_post, bank.moments)
        session._exhausted = len(session._unavailable) >= bank.size
        session._counts = design.balancer.counts(positions) if design.balancer else None
        if pending is not None:
            (pending_position,) = bank.indices([pending])
            if pending_position in session._unavailable:
                raise InvalidInput(f"the stored pending item {pending!r} was already used")
            session.pending = pending_position
        return session
