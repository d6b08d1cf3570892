"""Statistics of the item bank and the checks a city bank must pass (issue 17, DESIGN §5.1).

:func:`bank_checks` returns one :class:`Check` per rule; ``giga items stats --check`` prints them and exits
2 when one fails.  The rules:

coverage
    at least :data:`MIN_TEST_ITEMS` items of the *test* pool per skill × grade band; a skill may be left
    out of a band only with a written reason in ``bank/targets.yaml`` (``exempt: {P1-2: {REP: why}}``).
key positions
    among single-key items with free options (single choice, picture choice) with k options, every
    position holds the key in between 0.6/k and 1.4/k of them (15–35 % for four options); the two
    answers of same/different and the three of true/false/cannot-tell each hold ≥ 20 %.
longest option
    the key is the unique longest option text in at most :data:`MAX_LONGEST_KEY_SHARE` of single-choice
    items (by chance about 1/4 or less: test-wise students pick the longest option).
id parity
    within each skill and format, the key must not depend on the id number modulo 2 or 4: a χ² test of
    independence (:func:`scipy.stats.chi2_contingency`) at p < :data:`PARITY_ALPHA`, for ≥ 12 items.
rationales
    every distractor of a free-option format says which misreading leads to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from reading_tests.errors import InvalidInput
from reading_tests.items import BANDS, DELIVERABLE_STATUSES, FIXED_OPTION_FORMATS, POOLS, SKILLS, Item

MIN_TEST_ITEMS = 20
MAX_LONGEST_KEY_SHARE = 0.30
PARITY_ALPHA = 0.01
TARGETS_PATH = Path(__file__).parent / "bank" / "targets.yaml"
_FREE_SINGLE = ("single_choice", "picture_choice")


@dataclass(frozen=True)
class Check:
    """One bank rule: did it pass, the measured value, and the details a reviewer acts on."""

    name: str
    ok: bool
    summary: str
    details: tuple[str, ...] = ()


def load_exemptions(path: Path | None = None) -> dict[tuple[str, str], str]:
    """Skill × band cells allowed to have fewer items, with the written reason (``bank/targets.yaml``)."""
    file = path or TARGETS_PATH
    if not file.exists():
        return {}
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    exempt = data.get("exempt") or {} if isinstance(data, dict) else None
    if not isinstance(exempt, dict):
        raise InvalidInput(f"{file}: 'exempt' must map a band to {{skill: reason}}")
    out: dict[tuple[str, str], str] = {}
    for band, skills in exempt.items():
        if band not in BANDS or not isinstance(skills, dict):
            raise InvalidInput(f"{file}: unknown band {band!r} or not a mapping of skill: reason")
        for skill, reason in skills.items():
            if skill not in SKILLS or not isinstance(reason, str) or not reason.strip():
                raise InvalidInput(f"{file}: {band}.{skill} needs a known skill and a written reason")
            out[(str(skill), str(band))] = reason
    return out


def counts(items: Sequence[Item]) -> Counter[tuple[str, str, str]]:
    """Number of items per (skill, band, pool)."""
    return Counter((i.skill, i.grade_band, i.pool) for i in items)


def coverage_check(items: Sequence[Item], exemptions: dict[tuple[str, str], str]) -> Check:
    by_cell = counts(items)
    short = [
        f"{skill} {band}: {by_cell[(skill, band, 'test')]} test items (need {MIN_TEST_ITEMS})"
        for skill in SKILLS
        for band in BANDS
        if by_cell[(skill, band, "test")] < MIN_TEST_ITEMS and (skill, band) not in exemptions
    ]
    cells = len(SKILLS) * len(BANDS) - len(exemptions)
    return Check(
        "coverage",
        not short,
        f"{cells - len(short)}/{cells} skill×band cells reach {MIN_TEST_ITEMS}",
        tuple(short),
    )


def key_position_check(items: Sequence[Item]) -> Check:
    problems: list[str] = []
    parts: list[str] = []
    groups: dict[tuple[str, int], list[Item]] = {}
    for item in items:
        if item.format in _FREE_SINGLE or item.format in FIXED_OPTION_FORMATS:
            groups.setdefault((item.format, len(item.options)), []).append(item)
    for (fmt, k), group in sorted(groups.items()):
        positions = Counter(item.option_ids.index(item.key[0]) for item in group)
        n = len(group)
        shares = [positions[p] / n for p in range(k)]
        low, high = (0.6 / k, 1.4 / k) if fmt in _FREE_SINGLE else (0.2, 1.0)
        parts.append(f"{fmt}/{k}: " + " ".join(f"{s:.0%}" for s in shares) + f" (n={n})")
        if n >= 8 and not all(low <= s <= high for s in shares):
            problems.append(
                f"{fmt} with {k} options: key shares {[round(s, 2) for s in shares]} "
                f"outside {low:.0%}–{high:.0%}"
            )
    return Check("key positions", not problems, "; ".join(parts) or "no single-key items", tuple(problems))


def unique_longest_key(item: Item) -> bool:
    """True when the key's text is strictly longer than every other option's (characters, no spaces)."""
    lengths = {o.id: len("".join(o.text.split())) for o in item.options}
    key_length = lengths[item.key[0]]
    return all(key_length > n for option_id, n in lengths.items() if option_id != item.key[0])


def longest_option_check(items: Sequence[Item]) -> Check:
    single = [i for i in items if i.format == "single_choice"]
    longest = [i.id for i in single if unique_longest_key(i)]
    share = len(longest) / len(single) if single else 0.0
    ok = share <= MAX_LONGEST_KEY_SHARE
    return Check(
        "longest option",
        ok,
        f"key is the unique longest option in {len(longest)}/{len(single)} single-choice items ({share:.0%}, "
        f"limit {MAX_LONGEST_KEY_SHARE:.0%})",
        () if ok else tuple(longest),
    )


def parity_check(items: Sequence[Item]) -> Check:
    from scipy.stats import chi2_contingency

    problems: list[str] = []
    groups: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        if len(item.key) == 1:
            groups.setdefault((item.skill, item.format), []).append(item)
    for (skill, fmt), group in sorted(groups.items()):
        if len(group) < 12:
            continue
        keys = sorted({i.key[0] for i in group})
        if len(keys) < 2:
            continue
        for modulus in (2, 4):
            table = [
                [sum(1 for i in group if int(i.id[-3:]) % modulus == r and i.key[0] == key) for key in keys]
                for r in range(modulus)
            ]
            table = [row for row in table if sum(row) > 0]
            if len(table) < 2:
                continue
            p = float(chi2_contingency(table)[1])
            if p < PARITY_ALPHA:
                problems.append(
                    f"{skill} {fmt}: key depends on id mod {modulus} (χ² p = {p:.1g}, n = {len(group)})"
                )
    return Check("id parity", not problems, f"{len(groups)} skill×format groups tested", tuple(problems))


def rationale_check(items: Sequence[Item]) -> Check:
    missing = [
        f"{i.id} option {o.id}"
        for i in items
        if i.format not in FIXED_OPTION_FORMATS
        for o in i.options
        if o.id not in i.key and not (o.rationale and o.rationale.strip())
    ]
    return Check(
        "rationales", not missing, f"{len(missing)} distractor(s) without a rationale", tuple(missing)
    )


def bank_checks(items: Sequence[Item], exemptions: dict[tuple[str, str], str] | None = None) -> list[Check]:
    """Every rule of the module docstring, on the bank's active items (retired ones left out)."""
    active = [i for i in items if i.status != "retired"]
    return [
        coverage_check(active, load_exemptions() if exemptions is None else exemptions),
        key_position_check(active),
        longest_option_check(active),
        parity_check(active),
        rationale_check(active),
    ]


def count_table(items: Sequence[Item]) -> list[str]:
    """Rows ``skill  band×pool counts`` as tab-separated lines (header first)."""
    by_cell = counts(items)
    header = "skill\t" + "\t".join(f"{band}/{pool}" for band in BANDS for pool in POOLS) + "\ttotal"
    rows = [header]
    for skill in SKILLS:
        cells = [by_cell[(skill, band, pool)] for band in BANDS for pool in POOLS]
        rows.append(f"{skill}\t" + "\t".join(map(str, cells)) + f"\t{sum(cells)}")
    return rows


def status_table(items: Sequence[Item]) -> list[str]:
    """Test-pool items per skill × band that a test may deliver now, and how many are still drafts.

    Coverage counts every active item; this table says how much of it has had its second-person review
    (``deliverable/draft`` per cell), since a draft is never given to a student.
    """
    deliverable = Counter(
        (i.skill, i.grade_band) for i in items if i.pool == "test" and i.status in DELIVERABLE_STATUSES
    )
    drafts = Counter((i.skill, i.grade_band) for i in items if i.pool == "test" and i.status == "draft")
    rows = ["skill\t" + "\t".join(f"{band} deliverable/draft" for band in BANDS)]
    for skill in SKILLS:
        cells = [f"{deliverable[(skill, band)]}/{drafts[(skill, band)]}" for band in BANDS]
        rows.append(f"{skill}\t" + "\t".join(cells))
    return rows
