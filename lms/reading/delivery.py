"""Test delivery: the CAT state of an attempt, its prefetch queue, and the item payloads sent to the page.

No answer key ever goes to the browser.  The server sends the current item plus a *prefetch queue* of the
next items chosen at the current θ̂ (maximum information with content balancing and Sympson–Hetter
exposure control, excluding answered items and the items the student saw recently or practised) — a
multistage-like look-ahead that needs no key on the device.  Every
acknowledged answer re-plans the queue; offline, the page continues through the prefetched items and sends
their answers when the network is back.  The server accepts an answer only for an item it planned for that
attempt (``attempt_item``).  (The answer-dependent ``reading_tests.cat.lookahead`` tree would reveal keys,
so the page does not use it.)

Pool rule: an adaptive test draws from the test pool (``pool: test``; practice-pool items never appear in a
test) and from the *operational* items with IRT parameters in the assessment's
skills; *pilot* items of those skills are mixed in at the assessment's ``pilot_rate`` and stored for
calibration but never used for θ̂.  As long as the bank has no operational item (the shipped bank carries
provisional parameters from a simulated pilot), the pilot items with parameters form the pool and nothing
is mixed in.  A fixed form (``kind`` fixed or practice) administers its ``item_ids`` in order.

Exposure (issue 13): a new adaptive attempt uses Sympson–Hetter with ``K_i`` calibrated by simulation for
the design's pool (`Delivery.new_attempt_design`, r_max = `SH_R_MAX`, or 1.25 × length / pool size when
that cannot fill a test), once per design for all processes (`exposure_cache`: stored on disk, read by
every other worker), when the first attempt is prepared (the teacher's assign request; ~1 s for a
15-item test, paid once).  Pages that only read an attempt never calibrate.  States
saved under the randomesque design of the same assessment still load and finish with the design they
began with.

The stored state (``attempt.cat_state``, JSON) is ``{"cat": CatSession.to_dict(), "queue": [...],
"offered": [...], "pilot_answered": [...]}``; the CAT session is rebuilt from it for every answer (a
handful of vector operations), so any server process can serve any attempt.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lms.core.errors import InvalidInput
from lms.core.settings import get_settings
from lms.reading import exposure_cache, messages
from reading_tests.cat import CatDesign, CatPool, CatSession, ExposureControl, calibrate_sympson_hetter
from reading_tests.cat.rng import new_seed, uniform
from reading_tests.cat.selection import select_item
from reading_tests.errors import InvalidInput as EngineInvalidInput
from reading_tests.items import SKILLS, Item, ItemBank, load_bank
from reading_tests.text import reading_aloud_text, render_ruby_html, student_grade

QUEUE_LENGTH = 3  # the current item and two prefetched ones: a drop of two items costs nothing
RANDOMESQUE_K = 3
SH_R_MAX = 0.25  # target maximum exposure rate of an item (Sympson–Hetter)
SH_SIMULEES = 500  # simulees per calibration iteration (about 1.5 s per design on one core)
SH_ITERATIONS = 10
SH_SEED = 20261207
DELIVERED_STATUSES = ("pilot", "operational")
_PILOT_DRAW = 7  # draw index of the pilot lottery in `uniform(seed, position, draw)`
NO_RUBY_GRADE = 99
ALL_RUBY_GRADE = 0

# --- the item bank (loaded once per process) -----------------------------------------------------------

_bank_lock = threading.Lock()
_bank: ItemBank | None = None


def item_bank() -> ItemBank:
    """The shipped item bank, loaded (and validated) once per process."""
    global _bank
    if _bank is None:
        with _bank_lock:
            if _bank is None:
                _bank = load_bank()
    return _bank


def set_item_bank(bank: ItemBank | None) -> None:
    """Replace the process's bank (tests; a reload after promoting items).  Clears the design cache."""
    global _bank
    with _bank_lock:
        _bank = bank
    _design_cached.cache_clear()
    _payload_cached.cache_clear()
    _payload_json_cached.cache_clear()


# --- designs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Delivery:
    """What every attempt of one assessment shares: the CAT design and the pilot items to mix in."""

    design: CatDesign
    items: dict[str, Item]
    pilot_ids: tuple[str, ...] = ()
    pilot_rate: float = 0.0
    exposure_controlled: bool = False  # adaptive: new attempts use Sympson–Hetter

    def new_attempt_design(self) -> CatDesign:
        """The design a new attempt starts with: ``design`` with Sympson–Hetter for adaptive tests."""
        return sympson_hetter_design(self.design) if self.exposure_controlled else self.design

    def design_of_state(self, fingerprint: str) -> CatDesign:
        """The design a saved attempt began with (randomesque before issue 13, Sympson–Hetter after)."""
        if fingerprint == self.design.fingerprint or not self.exposure_controlled:
            return self.design
        return self.new_attempt_design()

    @property
    def expected_length(self) -> int:
        return self.design.stopping.max_items

    def is_pilot(self, item_id: str) -> bool:
        return item_id not in self.design.bank.index


@dataclass(frozen=True)
class DesignSpec:
    """The assessment settings that determine a design (hashable: the cache key)."""

    kind: str
    skills: tuple[str, ...]
    min_items: int
    max_items: int
    se_target: float
    item_ids: tuple[str, ...]
    pilot_rate: float
    grade: int | None = None  # the class's school year: items above it are left out (see _nearest_grades)


def delivery_for(spec: DesignSpec) -> Delivery:
    """The (cached) delivery of an assessment; `lms.core.errors.InvalidInput` when it cannot be built."""
    try:
        return _design_cached(spec, id(item_bank()))
    except EngineInvalidInput as error:
        raise InvalidInput(messages.DESIGN_IMPOSSIBLE.format(error=error)) from None


@lru_cache(maxsize=256)
def _design_cached(spec: DesignSpec, _bank_id: int) -> Delivery:
    bank = item_bank()
    unknown = [s for s in spec.skills if s not in SKILLS]
    if unknown:
        choices = "、".join(SKILLS)
        raise EngineInvalidInput(messages.UNKNOWN_SKILL.format(skill=unknown[0], choices=choices))
    if spec.kind in ("fixed", "practice"):
        missing = [i for i in spec.item_ids if i not in bank]
        if missing:
            raise EngineInvalidInput(messages.ITEM_NOT_IN_BANK.format(item_id=missing[0]))
        form = [bank[i] for i in spec.item_ids]
        undeliverable = [i for i in form if i.status not in DELIVERED_STATUSES]
        if undeliverable:  # drafts and retired items never reach a child (issue 17's review workflow)
            item = undeliverable[0]
            raise EngineInvalidInput(messages.ITEM_NOT_REVIEWED.format(item_id=item.id, status=item.status))
        if spec.kind == "fixed":
            practice_only = [i.id for i in form if i.pool != "test"]
            if practice_only:
                raise EngineInvalidInput(messages.ITEM_PRACTICE_ONLY.format(item_id=practice_only[0]))
        without = [i.id for i in form if i.irt is None]
        if without:
            raise EngineInvalidInput(messages.ITEM_NOT_CALIBRATED.format(item_id=without[0]))
        pool = _pool(form)
        design = CatDesign.build(pool, fixed_form=list(spec.item_ids))
        return Delivery(design=design, items={i.id: i for i in form})
    eligible = [
        i
        for i in bank
        if i.status in DELIVERED_STATUSES and i.pool == "test" and (not spec.skills or i.skill in spec.skills)
    ]
    if spec.grade is not None:
        eligible = _nearest_grades(eligible, spec.grade, spec.max_items)
    scorable = [i for i in eligible if i.irt is not None]
    operational = [i for i in scorable if i.status == "operational"]
    if operational:
        pool_items, pilots = operational, [i for i in eligible if i.status == "pilot"]
    else:
        pool_items, pilots = scorable, []
    if not pool_items:
        raise EngineInvalidInput(messages.NO_CALIBRATED_ITEMS_FOR_SKILLS)
    pool = _pool(pool_items)
    max_items = min(spec.max_items, pool.size)
    min_items = min(spec.min_items, max_items)
    skills = sorted({i.skill for i in pool_items})
    content = {"skill": {s: 1.0 / len(skills) for s in skills}} if len(skills) > 1 else None
    randomesque = CatDesign.build(
        pool,
        max_items=max_items,
        min_items=min_items,
        se_target=spec.se_target,
        exposure="randomesque",
        randomesque_k=RANDOMESQUE_K,
        content=content,
    )
    return Delivery(
        design=randomesque,
        items={i.id: i for i in [*pool_items, *pilots]},
        pilot_ids=tuple(i.id for i in pilots),
        pilot_rate=spec.pilot_rate if pilots else 0.0,
        exposure_controlled=True,
    )


def sh_target(max_items: int, pool_size: int) -> float:
    """r_max: `SH_R_MAX`, or 1.25 × length / pool size when `SH_R_MAX` cannot fill a test."""
    return min(1.0, max(SH_R_MAX, 1.25 * max_items / pool_size))


_sh_lock = threading.Lock()
_sh_designs: dict[str, CatDesign] = {}


def sympson_hetter_design(design: CatDesign) -> CatDesign:
    """``design`` with Sympson–Hetter exposure control, ``K_i`` calibrated by simulation for its pool
    (deterministic: the same design gives the same parameters in every process); cached per design."""
    with _sh_lock:  # one calibration per design, however many requests ask at once
        cached = _sh_designs.get(design.fingerprint)
        if cached is None:
            cached = _sh_designs[design.fingerprint] = _calibrated(design)
        return cached


def _calibrated(design: CatDesign) -> CatDesign:
    """Calibrated once per design for all processes: stored in the exposure cache (`exposure_cache`)."""
    r_max = sh_target(design.stopping.max_items, design.bank.size)
    settings = {"r_max": r_max, "simulees": SH_SIMULEES, "iterations": SH_ITERATIONS, "seed": SH_SEED}

    def calibrate() -> list[float]:
        calibration = calibrate_sympson_hetter(
            design, r_max, n_simulees=SH_SIMULEES, max_iterations=SH_ITERATIONS, seed=SH_SEED
        )
        return [float(k) for k in calibration.parameters]

    parameters = exposure_cache.shared_parameters(
        get_settings().exposure_cache_dir,
        exposure_cache.cache_key(design.fingerprint, settings),
        design.bank.size,
        calibrate,
    )
    control = ExposureControl.build("sympson-hetter", bank=design.bank, sh_parameters=parameters)
    return design.with_exposure(control)


def adaptive_grade_ceiling(grade: int, needed: int) -> int:
    """The highest school year (1–9) whose items an adaptive test over every skill may give a class of
    ``grade`` that needs ``needed`` items: ``grade`` itself when the bank has enough for it (the assign page
    tells the teacher when it does not)."""
    eligible = [i for i in item_bank() if i.status in DELIVERED_STATUSES and i.pool == "test"]
    return max((_grade_of(i.grade_min) for i in _nearest_grades(eligible, grade, needed)), default=grade)


def _nearest_grades(eligible: list[Item], grade: int, needed: int) -> list[Item]:
    """The items of ``eligible`` written for ``grade`` or below; where that is fewer than ``needed`` scorable
    items, the ceiling rises one school year at a time until it is enough. A 小1 class, for which no item
    is deliverable yet, so meets the easiest grades that have items (小3 today), never 中3 texts."""
    for ceiling in range(grade, _grade_of("J3") + 1):
        at_or_below = [i for i in eligible if _grade_of(i.grade_min) <= ceiling]
        if sum(1 for i in at_or_below if i.irt is not None) >= needed:
            return at_or_below
    return eligible


def _grade_of(code: str) -> int:
    try:
        return student_grade(code)
    except EngineInvalidInput:
        return 0


def class_grade(grades: str | None) -> int | None:
    """School year (1–9) of a class's first grade code, or None."""
    code = (grades or "").split(",")[0].strip()
    if not code:
        return None
    try:
        return student_grade(code)
    except EngineInvalidInput:
        return None


def _pool(items: Sequence[Item]) -> CatPool:
    params = [i.irt for i in items]
    return CatPool.build(
        [i.id for i in items],
        [p.a for p in params if p is not None],
        [p.b for p in params if p is not None],
        [p.c for p in params if p is not None],
        attributes={"skill": [i.skill for i in items], "genre": [i.genre for i in items]},
    )


# --- the attempt's state -----------------------------------------------------------------------------------


@dataclass
class AttemptState:
    """CAT session + the queue sent to the device + every item planned so far + answered pilot items."""

    session: CatSession
    queue: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)
    pilot_answered: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return len(self.session.items) + len(self.pilot_answered)

    @property
    def finished(self) -> bool:
        return self.session.finished or not self.queue

    def dumps(self) -> str:
        return json.dumps(
            {
                "cat": self.session.to_dict(),
                "queue": self.queue,
                "offered": self.offered,
                "pilot_answered": self.pilot_answered,
            },
            separators=(",", ":"),
        )


def new_state(
    delivery: Delivery, seed: int | None = None, exclude: Sequence[str] = ()
) -> tuple[AttemptState, list[str]]:
    """A fresh attempt: CAT session with its own seed and the first queue; returns the newly planned ids.

    ``exclude`` ("no repeat", most recent first): items the student saw recently or practised.  Only as
    many are left out as still leave a full-length test in the pool."""
    design = delivery.new_attempt_design()
    in_pool = [i for i in dict.fromkeys(exclude) if i in design.bank.index]
    room = max(design.bank.size - design.stopping.max_items, 0)
    session = CatSession.start(design, new_seed() if seed is None else seed, exclude=in_pool[:room])
    state = AttemptState(session=session)
    return state, replan(delivery, state)


def load_state(delivery: Delivery, text: str) -> AttemptState:
    """Rebuild the state stored in ``attempt.cat_state``."""
    try:
        data = json.loads(text)
        design = delivery.design_of_state(str(data["cat"]["design"]))
        session = CatSession.from_dict(design, data["cat"])
        return AttemptState(
            session=session,
            queue=list(data["queue"]),
            offered=list(data["offered"]),
            pilot_answered=list(data["pilot_answered"]),
        )
    except (ValueError, KeyError, TypeError, EngineInvalidInput) as error:
        raise InvalidInput(messages.STATE_MISMATCH) from error


def replan(delivery: Delivery, state: AttemptState) -> list[str]:
    """Choose the queue (current item + prefetch) at the current θ̂; return the ids planned for the first time.

    Scored items: maximum information at θ̂ among unanswered pool items with content balancing and
    exposure control, keyed by the session seed so that the plan is reproducible.  Items passed over by
    the Sympson–Hetter lottery for the next item are set aside for the rest of the test (as
    ``CatSession.next_item`` does); without that, an item would get a new lottery at every step and
    its exposure would not be controlled (measured: 0.87 instead of 0.36).  At each
    position a pilot item replaces the scored one with probability ``pilot_rate``.  The queue never holds
    more scored items than the maximum length still allows.
    """
    session = state.session
    design = session.design  # the design the attempt began with (an earlier one for old states)
    queue: list[str] = []
    if not session.finished:
        ids = design.bank.item_ids
        unavailable = [*session.items, *session.set_aside, *session.excluded]
        counts = design.balancer.counts(session.items) if design.balancer else None
        remaining = design.stopping.max_items - len(session.items)
        scored = 0
        answered_pilots = set(state.pilot_answered)
        for slot in range(QUEUE_LENGTH):
            position = state.answered + slot
            if delivery.pilot_rate > 0 and uniform(session.seed, position, _PILOT_DRAW) < delivery.pilot_rate:
                candidates = [p for p in delivery.pilot_ids if p not in answered_pilots and p not in queue]
                if candidates:
                    pick = int(uniform(session.seed, position, _PILOT_DRAW + 1) * len(candidates))
                    queue.append(candidates[pick])
                    continue
            if scored >= remaining:
                break
            if design.fixed_form is not None:
                item: int | None = next((k for k in design.fixed_form if k not in unavailable), None)
            else:
                step = len(session.items) + scored
                choice = select_item(
                    design.bank,
                    session.theta_hat,
                    unavailable,
                    exposure=design.exposure,
                    seed=session.seed,
                    step=step,
                    balancer=design.balancer,
                    counts=counts,
                )
                if choice.item is None:  # only set-aside items left (a small pool): take the best of them
                    planned = [design.bank.index[i] for i in queue if i in design.bank.index]
                    choice = select_item(
                        design.bank,
                        session.theta_hat,
                        [*session.items, *session.excluded, *planned],
                        exposure=ExposureControl.build("none", bank=design.bank),
                        seed=session.seed,
                        step=step,
                        balancer=design.balancer,
                        counts=counts,
                    )
                item = choice.item
                unavailable.extend(choice.rejected)
                if scored == 0:  # Sympson–Hetter: the next item's lottery losers stay out for the test
                    session.set_aside.extend(r for r in choice.rejected if r not in session.set_aside)
            if item is None:
                break
            unavailable.append(item)
            if counts is not None and design.balancer is not None:
                design.balancer.add(counts, item)
            queue.append(ids[item])
            scored += 1
    state.queue = queue
    new = [i for i in queue if i not in state.offered]
    state.offered.extend(new)
    return new


def record_answer(delivery: Delivery, state: AttemptState, item_id: str, correct: bool) -> None:
    """Add a scored answer to the CAT session (θ̂, SE updated) or note an answered pilot item."""
    if delivery.is_pilot(item_id):
        state.pilot_answered.append(item_id)
        return
    session = state.session
    # Any planned item may be answered, not only one: the page answers what it prefetched from an earlier
    # plan, which a later plan's lottery may have set aside (the engine's `record` then releases it; a state
    # naming it both answered and set aside could not be loaded again: the attempt stuck for good).
    session.pending = delivery.design.bank.index[item_id]
    session.record(item_id, 1 if correct else 0)


# --- payloads ----------------------------------------------------------------------------------------------


def ruby_grade(ruby_level: str | None, student_grade_code: str | None) -> int:
    """The school year whose kanji need no ruby: accommodation first, else the student's grade.

    ``"all"`` gives ruby on every kanji word, ``"none"`` on none; an unknown grade gives ruby everywhere.
    """
    level = (ruby_level or "").strip()
    if level == "all":
        return ALL_RUBY_GRADE
    if level == "none":
        return NO_RUBY_GRADE
    for code in (level, (student_grade_code or "").split(",")[0].strip()):
        if code:
            try:
                return student_grade(code)
            except EngineInvalidInput:
                continue
    return ALL_RUBY_GRADE


def item_payload(item: Item, grade: int) -> dict[str, Any]:
    """The ItemPayload of the contract for a student reading at ``grade`` (never the key)."""
    return _payload_cached(item.id, grade, id(item))


@lru_cache(maxsize=8192)
def _payload_cached(item_id: str, grade: int, _item_key: int) -> dict[str, Any]:
    item = item_bank()[item_id]

    def html(text: str | None, field_name: str) -> str | None:
        if text is None:
            return None
        return render_ruby_html(text, item.ruby_for(field_name), grade)

    def speech(text: str | None, field_name: str) -> str | None:
        if text is None:
            return None
        return reading_aloud_text(text, item.ruby_for(field_name))

    return {
        "item_id": item.id,
        "skill": item.skill,
        "format": item.format,
        "writing_mode": item.writing_mode,
        "grade_min": item.grade_min,
        "stimulus_html": html(item.stimulus, "stimulus"),
        # a picture of the stimulus: the drawing and the Japanese text screen readers say instead
        "figure": {"svg": item.figure.svg, "alt": item.figure.alt} if item.figure is not None else None,
        "compare_html": html(item.compare, "compare"),
        "instruction_html": html(item.instruction, "instruction"),
        "options": [
            {
                "id": option.id,
                "html": render_ruby_html(option.text, option.ruby, grade) if option.text else "",
                "svg": option.svg,
                "alt": option.alt,
            }
            for option in item.options
        ],
        "speech": {
            "stimulus": speech(item.stimulus, "stimulus"),
            # the picture is heard, not seen: its alt text, in its reviewed reading, after the stimulus
            "figure": speech(item.figure.alt, "figure") if item.figure is not None else None,
            "compare": speech(item.compare, "compare"),
            "instruction": speech(item.instruction, "instruction"),
            "options": {
                option.id: reading_aloud_text(option.text, option.ruby) if option.text else (option.alt or "")
                for option in item.options
            },
        },
    }


def payload_json(item: Item, grade: int) -> bytes:
    """`item_payload` serialised as compact UTF-8 JSON, built once per item and grade (the answer's ack
    splices these bytes into its body instead of encoding the dicts again on every answer)."""
    return _payload_json_cached(item.id, grade, id(item))


@lru_cache(maxsize=8192)
def _payload_json_cached(item_id: str, grade: int, item_key: int) -> bytes:
    payload = _payload_cached(item_id, grade, item_key)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def payloads(delivery: Delivery, item_ids: Sequence[str], grade: int) -> list[dict[str, Any]]:
    """Payloads of ``item_ids`` in order."""
    return [item_payload(delivery.items[i], grade) for i in item_ids]
