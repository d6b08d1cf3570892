"""Reading and writing the CSV formats of DESIGN §5.3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reading_tests.errors import InvalidInput
from reading_tests.io import (
    ItemParams,
    ResponseData,
    read_params,
    read_responses,
    write_params,
    write_responses,
)


def _write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_params_round_trip_keeps_values_nan_and_extra_columns(tmp_path: Path) -> None:
    params = ItemParams.create(
        ["q1", "q2", "q3"],
        a=[1.2, 0.8, 1.5],
        b=[-0.5, 0.25, 1.0],
        c=[0.0, 0.0, 0.2],
        model=["2pl", "2pl", "3pl"],
        se_a=[0.1, np.nan, 0.2],
        se_b=[0.05, np.nan, 0.1],
        n=[500, 600, 700],
        extra={"skill": ["DEP", "ANA", "INF"]},
    )
    path = tmp_path / "params.csv"
    write_params(params, path)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header == "item_id,model,a,b,c,se_a,se_b,se_c,n,skill"
    back = read_params(path)
    assert back.item_ids == ("q1", "q2", "q3")
    assert back.model == ("2pl", "2pl", "3pl")
    np.testing.assert_allclose(back.a, params.a)
    np.testing.assert_allclose(back.c, [0.0, 0.0, 0.2])
    assert np.isnan(back.se_a[1]) and np.isnan(back.se_c).all()
    assert back.n.tolist() == [500, 600, 700]
    assert back.extra == {"skill": ("DEP", "ANA", "INF")}
    assert back.subset(["q3", "q1"]).extra["skill"] == ("INF", "DEP")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("item_id,model,a\nq1,2pl,1\n", "missing header column 'b'"),
        ("item_id,model,a,b\nq1,4pl,1,0\n", "unknown model"),
        ("item_id,model,a,b\nq1,2pl,x,0\n", ":2: column 'a' is not a number"),
        ("item_id,model,a,b\nq1,2pl,1,0\nq1,2pl,1,0\n", ":3: duplicate item_id"),
        ("item_id,model,a,b\nq1,2pl,-1,0\n", "must be positive"),
    ],
)
def test_read_params_rejects_bad_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InvalidInput, match=fragment) as info:
        read_params(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_long_and_wide_forms_give_the_same_sparse_data(tmp_path: Path) -> None:
    long = _write(
        tmp_path,
        "student_id,item_id,response\ns1,q1,1\ns1,q2,0\ns2,q2,1\ns3,q1,0\ns3,q3,1\n",
        "long.csv",
    )
    wide = _write(tmp_path, "student_id,q1,q2,q3\ns1,1,0,\ns2,,1,\ns3,0,,1\n", "wide.csv")
    a = read_responses(long)
    b = read_responses(wide, wide=True)
    for data in (a, b):
        assert data.student_ids == ("s1", "s2", "s3")
        assert data.item_ids == ("q1", "q2", "q3")
        assert data.n_responses == 5
        dense = data.to_dense()
        np.testing.assert_array_equal(
            dense, np.array([[1, 0, np.nan], [np.nan, 1, np.nan], [0, np.nan, 1]], dtype=float)
        )
    assert a.items_per_student().tolist() == [2, 1, 2]
    assert a.responses_per_item().tolist() == [2, 2, 1]


def test_params_fix_column_order_and_allow_unanswered_items(tmp_path: Path) -> None:
    params = ItemParams.create(["q3", "q2", "q1", "q9"], a=1.0, b=0.0)
    long = _write(tmp_path, "student_id,item_id,response\ns1,q1,1\ns1,q2,0\n")
    data = read_responses(long, params=params)
    assert data.item_ids == ("q3", "q2", "q1", "q9")
    np.testing.assert_array_equal(data.to_dense(), [[np.nan, 0, 1, np.nan]])


@pytest.mark.parametrize(
    ("text", "wide", "fragment"),
    [
        ("", False, "empty"),
        ("student_id,item_id\ns1,q1\n", False, "missing header column 'response'"),
        ("student_id,item_id,response\ns1,q1,2\n", False, ":2: response must be 0 or 1, got '2'"),
        ("student_id,item_id,response\ns1,q1,yes\n", False, "response must be 0 or 1"),
        ("student_id,item_id,response\ns1,q1,1\ns1,q1,0\n", False, ":3: duplicate response"),
        ("student_id,item_id,response\n", False, "no responses"),
        ("student_id,q1,q2\ns1,1,\ns2,0,\n", True, "nobody answered item 'q2'"),
        ("student_id,q1\ns1,0.5\n", True, ":2: response must be 0 or 1"),
        ("student_id,q1\ns1,1\ns1,0\n", True, ":3: duplicate student_id"),
        ("student_id,q1\ns1,1,1\n", True, ":2: expected 2 cells"),
    ],
)
def test_read_responses_rejects_bad_files(tmp_path: Path, text: str, wide: bool, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InvalidInput, match=fragment) as info:
        read_responses(path, wide=wide)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_item_is_rejected_when_params_are_given(tmp_path: Path) -> None:
    params = ItemParams.create(["q1"], a=1.0, b=0.0)
    path = _write(tmp_path, "student_id,item_id,response\ns1,q1,1\ns1,zz,0\n")
    with pytest.raises(InvalidInput, match=":3: unknown item 'zz'"):
        read_responses(path, params=params)


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot open"):
        read_responses(tmp_path / "nope.csv")


def test_write_responses_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    dense = rng.integers(0, 2, size=(30, 7)).astype(float)
    dense[rng.random(dense.shape) < 0.3] = np.nan
    dense[0, :] = 1.0  # every item answered at least once
    data = ResponseData.from_dense(dense)
    path = tmp_path / "r.csv"
    write_responses(data, path)
    back = read_responses(path).subset_items(data.item_ids)
    order = [back.student_ids.index(s) for s in data.student_ids if s in back.student_ids]
    kept = [i for i, s in enumerate(data.student_ids) if s in back.student_ids]
    np.testing.assert_array_equal(back.to_dense()[order], dense[kept])
