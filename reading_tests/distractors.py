"""Distractor analysis: a wrong option that the strongest students prefer to the key suggests a miskey.

Input: the option each student chose (``student_id,item_id,choice``) next to the scored responses.  The key of
an item is the option chosen by the students scored correct (so no key file is needed and a miskey shows
exactly as the scoring saw it).  Students are ranked by their *rest score* — proportion correct on their
other answered items — and the top ``HIGH_GROUP`` share of those who answered the item form its high group
(Kelley's 27 %).  An item is flagged when, in its high group, some distractor is chosen more often than
the key; each option's point-biserial with the rest score is reported alongside (the key's should be the
only positive one).
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reading_tests.errors import InvalidInput
from reading_tests.io import ResponseData

HIGH_GROUP = 0.27
MIN_HIGH = 20  # fewer students in the high group: shares too noisy to compare


@dataclass(frozen=True)
class OptionStats:
    option: str
    is_key: bool
    share_high: float  # share of the high group choosing it
    share_all: float
    point_biserial: float  # correlation of "chose this option" with the rest score


@dataclass(frozen=True)
class DistractorResult:
    item_id: str
    key: str
    n_high: int
    options: tuple[OptionStats, ...]

    @property
    def beating_key(self) -> list[OptionStats]:
        """Distractors chosen more often than the key by the high group (empty unless ``n_high`` suffices)."""
        if self.n_high < MIN_HIGH:
            return []
        key_share = next(o.share_high for o in self.options if o.is_key)
        return [o for o in self.options if not o.is_key and o.share_high > key_share]


def read_choices(path: Path) -> dict[tuple[str, str], str]:
    """``(student_id, item_id) → choice`` from a CSV with header ``student_id,item_id,choice``."""
    out: dict[tuple[str, str], str] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not {"student_id", "item_id", "choice"} <= set(reader.fieldnames):
                raise InvalidInput(f"{path}: the header must contain student_id,item_id,choice")
            for row in reader:
                choice = (row.get("choice") or "").strip()
                if choice:
                    out[(row["student_id"].strip(), row["item_id"].strip())] = choice
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read ({error.strerror})") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path}: not a readable CSV file ({error})") from None
    return out


def _rest_scores(data: ResponseData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per answered cell: row, column, correct (0/1) and the student's proportion correct on the others."""
    coo = data.answered.tocoo()
    x = np.asarray(data.correct[coo.row, coo.col]).ravel()
    n_ans = np.asarray(data.answered.sum(axis=1)).ravel()
    n_cor = np.asarray(data.correct.sum(axis=1)).ravel()
    others = n_ans[coo.row] - 1
    rest = np.where(others > 0, (n_cor[coo.row] - x) / np.maximum(others, 1), np.nan)
    return coo.row, coo.col, x, rest


def analyse_distractors(data: ResponseData, choices: dict[tuple[str, str], str]) -> list[DistractorResult]:
    """Option statistics for every item that has choices for at least one correct answer."""
    if not choices:
        raise InvalidInput("the choices file has no rows")
    rows, cols, x, rest = _rest_scores(data)
    per_item: dict[int, list[tuple[str, float, float]]] = defaultdict(list)
    for r, c, xi, ri in zip(rows, cols, x, rest, strict=True):
        choice = choices.get((data.student_ids[r], data.item_ids[c]))
        if choice is not None and not np.isnan(ri):
            per_item[int(c)].append((choice, float(xi), float(ri)))
    out = []
    for j, cells in sorted(per_item.items()):
        keyed = Counter(ch for ch, xi, _ in cells if xi == 1)
        if not keyed:
            continue
        key = keyed.most_common(1)[0][0]
        chosen = np.array([ch for ch, _, _ in cells])
        score = np.array([ri for _, _, ri in cells])
        cut = np.quantile(score, 1 - HIGH_GROUP)
        high = score >= cut
        options = []
        for opt in sorted(set(chosen.tolist())):
            ind = (chosen == opt).astype(float)
            r_pb = float(np.corrcoef(ind, score)[0, 1]) if ind.std() > 0 and score.std() > 0 else float("nan")
            options.append(OptionStats(opt, opt == key, float(ind[high].mean()), float(ind.mean()), r_pb))
        out.append(DistractorResult(data.item_ids[j], key, int(high.sum()), tuple(options)))
    return out
