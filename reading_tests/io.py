"""Reading and writing item parameters and response data (the CSV formats of DESIGN §5.3).

Item parameters
    ``item_id,model,a,b,c,se_a,se_b,se_c,n`` — one row per item, ``b`` on the θ scale of
    ``P = c + (1 − c) / (1 + exp(−a (θ − b)))``.  Empty ``se_*`` cells mean "not estimated" (NaN),
    e.g. for anchor items whose parameters were held fixed.  Extra columns (``skill``, ``genre``, …)
    are kept as strings in :attr:`ItemParams.extra`.

Responses
    Long form ``student_id,item_id,response`` with response 0 or 1 (a missing response is an absent
    row), or wide form ``student_id,<item>,<item>,…`` with an empty cell for a missing response.

Responses are held sparsely (:class:`ResponseData`): two CSR matrices of 0/1 indicators,
``correct`` and ``incorrect`` (students × items), so that a student who saw 25 of 500 items costs
25 stored entries.  Every defect in a file raises :class:`~reading_tests.errors.InvalidInput` with
one line naming the file and the line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from reading_tests.errors import InvalidInput
from reading_tests.irt import MODELS, FloatArray

PARAM_COLUMNS: tuple[str, ...] = ("item_id", "model", "a", "b", "c", "se_a", "se_b", "se_c", "n")
RESPONSE_COLUMNS: tuple[str, ...] = ("student_id", "item_id", "response")

IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ItemParams:
    """Parameters of a set of dichotomous items.

    Attributes
    ----------
    item_ids : tuple of str
        Item identifiers, in the order of the arrays.
    model : tuple of str
        Model of each item: ``"1pl"``, ``"2pl"`` or ``"3pl"``.
    a, b, c : ndarray of float, shape (n_items,)
        Discrimination, difficulty (θ scale) and lower asymptote.
    se_a, se_b, se_c : ndarray of float, shape (n_items,)
        Standard errors; NaN when not estimated (fixed or not part of the model).
    n : ndarray of int, shape (n_items,)
        Number of responses the item was calibrated on (0 when unknown).
    extra : dict of str to tuple of str
        Any further CSV columns (e.g. ``skill``, ``genre``), one string per item.
    """

    item_ids: tuple[str, ...]
    model: tuple[str, ...]
    a: FloatArray
    b: FloatArray
    c: FloatArray
    se_a: FloatArray
    se_b: FloatArray
    se_c: FloatArray
    n: IntArray
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = len(self.item_ids)
        if len(set(self.item_ids)) != k:
            raise InvalidInput("item parameters: duplicate item_id")
        if len(self.model) != k:
            raise InvalidInput("item parameters: one model per item is required")
        for name in ("a", "b", "c", "se_a", "se_b", "se_c", "n"):
            arr = getattr(self, name)
            if np.shape(arr) != (k,):
                raise InvalidInput(f"item parameters: '{name}' must have one value per item")
        for name, values in self.extra.items():
            if len(values) != k:
                raise InvalidInput(f"item parameters: extra column '{name}' must have one value per item")

    @classmethod
    def create(
        cls,
        item_ids: Sequence[str],
        a: ArrayLike,
        b: ArrayLike,
        c: ArrayLike | None = None,
        *,
        model: str | Sequence[str] = "2pl",
        se_a: ArrayLike | None = None,
        se_b: ArrayLike | None = None,
        se_c: ArrayLike | None = None,
        n: ArrayLike | None = None,
        extra: Mapping[str, Sequence[str]] | None = None,
    ) -> ItemParams:
        """Build parameters from plain sequences; missing SEs become NaN, ``c`` defaults to 0."""
        k = len(item_ids)

        def arr(x: ArrayLike | None, fill: float) -> FloatArray:
            if x is None:
                return np.full(k, fill, dtype=float)
            return np.broadcast_to(np.asarray(x, dtype=float), (k,)).copy()

        models = (model,) * k if isinstance(model, str) else tuple(model)
        for m in models:
            if m not in MODELS:
                raise InvalidInput(f"item parameters: unknown model '{m}' (use 1pl, 2pl or 3pl)")
        counts = np.zeros(k, dtype=np.int64) if n is None else np.asarray(n, dtype=np.int64).reshape(k)
        return cls(
            item_ids=tuple(str(i) for i in item_ids),
            model=models,
            a=arr(a, 1.0),
            b=arr(b, 0.0),
            c=arr(c, 0.0),
            se_a=arr(se_a, math.nan),
            se_b=arr(se_b, math.nan),
            se_c=arr(se_c, math.nan),
            n=counts,
            extra={key: tuple(v) for key, v in (extra or {}).items()},
        )

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def index(self) -> dict[str, int]:
        """Map from item id to position."""
        return {item: j for j, item in enumerate(self.item_ids)}

    def subset(self, item_ids: Sequence[str]) -> ItemParams:
        """The parameters of ``item_ids`` in that order (unknown ids raise ``InvalidInput``)."""
        pos = self.index
        missing = [i for i in item_ids if i not in pos]
        if missing:
            raise InvalidInput(f"item parameters: unknown item '{missing[0]}'")
        idx = np.array([pos[i] for i in item_ids], dtype=np.int64)
        return ItemParams(
            item_ids=tuple(item_ids),
            model=tuple(self.model[j] for j in idx),
            a=self.a[idx],
            b=self.b[idx],
            c=self.c[idx],
            se_a=self.se_a[idx],
            se_b=self.se_b[idx],
            se_c=self.se_c[idx],
            n=self.n[idx],
            extra={k: tuple(v[j] for j in idx) for k, v in self.extra.items()},
        )


@dataclass(frozen=True, eq=False)
class ResponseData:
    """Sparse dichotomous responses.

    Attributes
    ----------
    student_ids : tuple of str
        Row labels.
    item_ids : tuple of str
        Column labels.
    correct, incorrect : scipy.sparse.csr_matrix of float64, shape (n_students, n_items)
        Indicators ``x_ij = 1`` and ``x_ij = 0``; a missing response is 0 in both.
    """

    student_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    correct: sp.csr_matrix
    incorrect: sp.csr_matrix

    @property
    def n_students(self) -> int:
        return len(self.student_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_responses(self) -> int:
        return int(self.correct.nnz + self.incorrect.nnz)

    @property
    def answered(self) -> sp.csr_matrix:
        """Indicator of an observed response (correct + incorrect)."""
        return sp.csr_matrix(self.correct + self.incorrect)

    def items_per_student(self) -> IntArray:
        """Number of answered items of each student."""
        return np.asarray(np.diff(self.correct.indptr) + np.diff(self.incorrect.indptr), dtype=np.int64)

    def responses_per_item(self) -> IntArray:
        """Number of responses to each item."""
        counts = np.bincount(self.correct.indices, minlength=self.n_items)
        counts += np.bincount(self.incorrect.indices, minlength=self.n_items)
        return np.asarray(counts, dtype=np.int64)

    def to_dense(self) -> FloatArray:
        """Students × items array with 1, 0 and NaN for missing."""
        out = np.full((self.n_students, self.n_items), np.nan)
        ci = self.correct.tocoo()
        out[ci.row, ci.col] = 1.0
        ii = self.incorrect.tocoo()
        out[ii.row, ii.col] = 0.0
        return out

    @classmethod
    def from_dense(
        cls,
        matrix: ArrayLike,
        student_ids: Sequence[str] | None = None,
        item_ids: Sequence[str] | None = None,
    ) -> ResponseData:
        """Build from a students × items array of 1, 0 and NaN (missing)."""
        x = np.asarray(matrix, dtype=float)
        if x.ndim != 2:
            raise InvalidInput("responses must be a two-dimensional students × items array")
        ok = np.isnan(x) | (x == 0) | (x == 1)
        if not ok.all():
            raise InvalidInput("responses must be 0, 1 or missing")
        n, k = x.shape
        sids = tuple(student_ids) if student_ids is not None else tuple(f"s{i}" for i in range(n))
        iids = tuple(item_ids) if item_ids is not None else tuple(f"i{j}" for j in range(k))
        return cls(
            student_ids=sids,
            item_ids=iids,
            correct=sp.csr_matrix((x == 1).astype(float)),
            incorrect=sp.csr_matrix((x == 0).astype(float)),
        )

    @classmethod
    def from_triplets(
        cls,
        rows: ArrayLike,
        cols: ArrayLike,
        responses: ArrayLike,
        student_ids: Sequence[str],
        item_ids: Sequence[str],
    ) -> ResponseData:
        """Build from parallel arrays of student index, item index and 0/1 response (no duplicates)."""
        r = np.asarray(rows, dtype=np.int64)
        c = np.asarray(cols, dtype=np.int64)
        x = np.asarray(responses)
        shape = (len(student_ids), len(item_ids))
        one = x == 1
        correct = sp.csr_matrix((np.ones(int(one.sum())), (r[one], c[one])), shape=shape)
        incorrect = sp.csr_matrix((np.ones(int((~one).sum())), (r[~one], c[~one])), shape=shape)
        correct.sort_indices()
        incorrect.sort_indices()
        return cls(tuple(student_ids), tuple(item_ids), correct, incorrect)

    def subset_items(self, item_ids: Sequence[str]) -> ResponseData:
        """Responses restricted to (and reordered as) ``item_ids``, which must all be columns."""
        pos = {item: j for j, item in enumerate(self.item_ids)}
        idx = [pos[i] for i in item_ids]
        return ResponseData(
            self.student_ids,
            tuple(item_ids),
            sp.csr_matrix(self.correct[:, idx]),
            sp.csr_matrix(self.incorrect[:, idx]),
        )


# --------------------------------------------------------------------------- parameters


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, cells)`` of a CSV file, skipping blank lines."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise InvalidInput(f"{path}: cannot open file ({error.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                yield reader.line_num, [cell.strip() for cell in row]
        except (csv.Error, UnicodeDecodeError) as error:
            raise InvalidInput(f"{path}:{reader.line_num}: not a readable CSV file ({error})") from None


def _header(path: Path, rows: Iterator[tuple[int, list[str]]], required: Sequence[str]) -> list[str]:
    try:
        _, header = next(rows)
    except StopIteration:
        raise InvalidInput(f"{path}: the file is empty") from None
    missing = [col for col in required if col not in header]
    if missing:
        raise InvalidInput(f"{path}:1: missing header column '{missing[0]}' (expected {','.join(required)})")
    if len(set(header)) != len(header):
        raise InvalidInput(f"{path}:1: duplicate header column")
    return header


def _float(path: Path, line: int, column: str, text: str, *, allow_empty: bool) -> float:
    if text == "":
        if allow_empty:
            return math.nan
        raise InvalidInput(f"{path}:{line}: column '{column}' is empty")
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{path}:{line}: column '{column}' is not a number: '{text}'") from None
    if math.isinf(value) or (math.isnan(value) and not allow_empty):
        raise InvalidInput(f"{path}:{line}: column '{column}' is not a finite number: '{text}'")
    return value


def read_params(path: str | Path) -> ItemParams:
    """Read an item-parameter CSV (``item_id,model,a,b,c,se_a,se_b,se_c,n`` plus any extra columns).

    Only ``item_id``, ``model``, ``a`` and ``b`` are required; ``c`` defaults to 0, SEs to NaN and
    ``n`` to 0 when the column is absent or the cell is empty.
    """
    p = Path(path)
    rows = _rows(p)
    header = _header(p, rows, ("item_id", "model", "a", "b"))
    col = {name: k for k, name in enumerate(header)}
    extra_cols = [h for h in header if h not in PARAM_COLUMNS]
    ids: list[str] = []
    models: list[str] = []
    values: dict[str, list[float]] = {k: [] for k in ("a", "b", "c", "se_a", "se_b", "se_c")}
    counts: list[int] = []
    extra: dict[str, list[str]] = {k: [] for k in extra_cols}
    seen: set[str] = set()
    for line, row in rows:
        if len(row) != len(header):
            raise InvalidInput(f"{p}:{line}: expected {len(header)} cells, found {len(row)}")
        item = row[col["item_id"]]
        if not item:
            raise InvalidInput(f"{p}:{line}: empty item_id")
        if item in seen:
            raise InvalidInput(f"{p}:{line}: duplicate item_id '{item}'")
        seen.add(item)
        model = row[col["model"]].lower()
        if model not in MODELS:
            raise InvalidInput(f"{p}:{line}: unknown model '{row[col['model']]}' (use 1pl, 2pl or 3pl)")
        for name in values:
            if name in col:
                required = name in ("a", "b")
                v = _float(p, line, name, row[col[name]], allow_empty=not required)
            else:
                v = math.nan
            if name == "c" and math.isnan(v):
                v = 0.0
            values[name].append(v)
        if not values["a"][-1] > 0:
            raise InvalidInput(f"{p}:{line}: discrimination a must be positive, got {values['a'][-1]}")
        if not 0.0 <= values["c"][-1] < 1.0:
            raise InvalidInput(f"{p}:{line}: lower asymptote c must be in [0, 1), got {values['c'][-1]}")
        n_text = row[col["n"]] if "n" in col else ""
        try:
            counts.append(int(float(n_text)) if n_text else 0)
        except ValueError:
            raise InvalidInput(f"{p}:{line}: column 'n' is not a count: '{n_text}'") from None
        ids.append(item)
        models.append(model)
        for name in extra_cols:
            extra[name].append(row[col[name]])
    if not ids:
        raise InvalidInput(f"{p}: no items in the file")
    return ItemParams(
        item_ids=tuple(ids),
        model=tuple(models),
        a=np.array(values["a"]),
        b=np.array(values["b"]),
        c=np.array(values["c"]),
        se_a=np.array(values["se_a"]),
        se_b=np.array(values["se_b"]),
        se_c=np.array(values["se_c"]),
        n=np.array(counts, dtype=np.int64),
        extra={k: tuple(v) for k, v in extra.items()},
    )


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.6f}"


def write_params(params: ItemParams, path: str | Path) -> None:
    """Write ``params`` as ``item_id,model,a,b,c,se_a,se_b,se_c,n`` followed by any extra columns."""
    extra_cols = list(params.extra)
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*PARAM_COLUMNS, *extra_cols])
        for j, item in enumerate(params.item_ids):
            writer.writerow(
                [
                    item,
                    params.model[j],
                    _fmt(float(params.a[j])),
                    _fmt(float(params.b[j])),
                    _fmt(float(params.c[j])),
                    _fmt(float(params.se_a[j])),
                    _fmt(float(params.se_b[j])),
                    _fmt(float(params.se_c[j])),
                    str(int(params.n[j])),
                    *(params.extra[k][j] for k in extra_cols),
                ]
            )


# --------------------------------------------------------------------------- responses


def _response(path: Path, line: int, text: str) -> int:
    if text in ("0", "1"):
        return int(text)
    if text in ("0.0", "1.0"):
        return int(float(text))
    raise InvalidInput(f"{path}:{line}: response must be 0 or 1, got '{text}'")


def read_responses(
    path: str | Path,
    wide: bool = False,
    params: ItemParams | None = None,
) -> ResponseData:
    """Read a response CSV in long (``student_id,item_id,response``) or wide form.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    wide : bool
        ``True`` for the wide form ``student_id,<item>,…`` (empty cell = missing).
    params : ItemParams, optional
        When given, every item must be one of ``params.item_ids`` and the columns of the result follow
        the order of ``params`` (items nobody answered are allowed then).  Without ``params`` the
        columns are the items in order of first appearance and every item must have a response.

    Raises
    ------
    InvalidInput
        Empty file, missing header column, non-binary response, duplicate (student, item) pair,
        unknown item (with ``params``), or an item nobody answered (without ``params``).
    """
    p = Path(path)
    rows = _rows(p)
    known = params.index if params is not None else None
    item_pos: dict[str, int] = dict(known) if known is not None else {}
    student_pos: dict[str, int] = {}
    r_idx: list[int] = []
    c_idx: list[int] = []
    resp: list[int] = []

    def student(line: int, sid: str) -> int:
        if not sid:
            raise InvalidInput(f"{p}:{line}: empty student_id")
        return student_pos.setdefault(sid, len(student_pos))

    def item(line: int, iid: str) -> int:
        if not iid:
            raise InvalidInput(f"{p}:{line}: empty item_id")
        if known is not None and iid not in known:
            raise InvalidInput(f"{p}:{line}: unknown item '{iid}' (not in the item parameters)")
        return item_pos.setdefault(iid, len(item_pos))

    if wide:
        header = _header(p, rows, ("student_id",))
        if header[0] != "student_id":
            raise InvalidInput(f"{p}:1: the first column of the wide form must be 'student_id'")
        if len(header) < 2:
            raise InvalidInput(f"{p}:1: the wide form needs at least one item column")
        cols = [item(1, h) for h in header[1:]]
        for line, row in rows:
            if len(row) != len(header):
                raise InvalidInput(f"{p}:{line}: expected {len(header)} cells, found {len(row)}")
            sid = row[0]
            if sid in student_pos:
                raise InvalidInput(f"{p}:{line}: duplicate student_id '{sid}'")
            i = student(line, sid)
            for j, text in zip(cols, row[1:], strict=True):
                if text == "":
                    continue
                r_idx.append(i)
                c_idx.append(j)
                resp.append(_response(p, line, text))
    else:
        header = _header(p, rows, RESPONSE_COLUMNS)
        cs, ci, cr = (header.index(name) for name in RESPONSE_COLUMNS)
        seen: set[tuple[int, int]] = set()
        for line, row in rows:
            if len(row) != len(header):
                raise InvalidInput(f"{p}:{line}: expected {len(header)} cells, found {len(row)}")
            i = student(line, row[cs])
            j = item(line, row[ci])
            if (i, j) in seen:
                raise InvalidInput(
                    f"{p}:{line}: duplicate response of student '{row[cs]}' to item '{row[ci]}'"
                )
            seen.add((i, j))
            r_idx.append(i)
            c_idx.append(j)
            resp.append(_response(p, line, row[cr]))
    if not resp:
        raise InvalidInput(f"{p}: the file has no responses")
    item_ids = list(item_pos)
    data = ResponseData.from_triplets(r_idx, c_idx, resp, list(student_pos), item_ids)
    if params is None:
        counts = data.responses_per_item()
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise InvalidInput(f"{p}: nobody answered item '{item_ids[int(empty[0])]}'")
    return data


def write_responses(data: ResponseData, path: str | Path) -> None:
    """Write responses in long form ``student_id,item_id,response``."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(RESPONSE_COLUMNS)
        for matrix, value in ((data.correct, "1"), (data.incorrect, "0")):
            coo = matrix.tocoo()
            for i, j in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
                writer.writerow([data.student_ids[i], data.item_ids[j], value])
