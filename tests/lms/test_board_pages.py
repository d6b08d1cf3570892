"""Board pages, CSV, open data, JSON API and CLI through HTTP / the CLI: who may see what, and what is shown.

Permission row ``BOARD_AGGREGATES``: board and admin all schools; school admin own school (another 404);
teachers and students 403; the board still cannot open an individual (403).  No page, CSV or export
contains a student's name.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from lms.board.opendata import OPENDATA_COLUMNS, valid_city_code
from lms.board.release_jobs import run_pending
from lms.board.releases import make_release
from lms.board.service import refresh_aggregates
from lms.reading.models import Attempt
from tests.lms.conftest import csrf_of
from tests.lms.test_board_service import STUDENT_FAMILY, build_history

WORLD_STUDENT_NAMES = ("一郎", "花子", "次郎", "三郎")


def _no_names(text: str, history: Any) -> None:
    assert STUDENT_FAMILY not in text
    for name in WORLD_STUDENT_NAMES:
        assert name not in text
    for student in history.students[:30]:
        assert student.given_name not in text and student.username not in text


@pytest.fixture
def history(db_session: Session, world: Any) -> Any:
    h = build_history(db_session, world)
    refresh_aggregates(session=db_session)  # the school admin's live view
    for year, term in ((2025, 1), (2025, 2), (2025, 3), (2026, 1)):  # the board's releases
        make_release(session=db_session, actor=None, school_year=year, term=term, reason="term_closed")
    db_session.commit()
    return h


def test_board_sees_the_city_dashboard_without_names(client: Any, sign_in: Any, history: Any) -> None:
    sign_in("board")
    page = client.get("/board?year=2025&term=1&skill=ALL&grade=P5")
    assert page.status_code == 200, page.text
    html = page.text
    assert "読解力の集計" in html and "市全体" in html and "<svg" in html
    assert 'id="compare-table"' in html and 'id="grid-table"' in html and 'id="growth-table"' in html
    assert "非公表" in html and "推算値" in html
    # no developer words for the board's officers (issue 19)
    assert [w for w in ("plausible", "Rubin", "EAP", "θ", "100θ") if w in html] == []
    assert "みどり第二小学校" in html  # schools are named, children never
    _no_names(html, history)
    # filters live in the URL: the print view and CSV link keep them
    assert "/board.csv?year=2025&amp;term=1&amp;skill=ALL&amp;grade=P5" in html
    printable = client.get("/board/print?year=2025&term=1&skill=ALL&grade=P5")
    assert printable.status_code == 200 and "印刷する" in printable.text and "@media print" in printable.text
    _no_names(printable.text, history)


def test_csv_is_what_is_on_screen_with_bom_and_no_hidden_numbers(
    client: Any, sign_in: Any, history: Any
) -> None:
    sign_in("board")
    response = client.get("/board.csv?year=2025&term=1&skill=ALL&grade=P3")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    _no_names(text, history)
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header[0] == "表" and "非公表" in header
    assert body and all(len(r) == len(header) for r in body)
    hidden = [r for r in body if r[-1] == "非公表"]
    assert hidden and all(all(v == "" for v in r[6:-1]) for r in hidden)
    shown = [r for r in body if r[-1] == ""]
    assert shown and all(int(r[6]) % 5 == 0 and int(r[6]) >= 10 for r in shown)  # rounded, ≥ k
    page = client.get("/board?year=2025&term=1&skill=ALL&grade=P3").text
    for r in shown:
        if r[0] == "学校と市の比較":
            assert f">{r[7]}<" in page  # the same mean is on the page


def test_teacher_and_student_get_403(client: Any, sign_in: Any, history: Any) -> None:
    for username in ("t-a1", "s-a1"):
        client.cookies.clear()
        sign_in(username)
        for path in ("/board", "/board/print", "/board.csv", "/api/v1/board/dashboard"):
            assert client.get(path).status_code == 403, (username, path)


def test_school_admin_sees_only_their_school(client: Any, sign_in: Any, world: Any, history: Any) -> None:
    sign_in("sa-a")
    page = client.get("/board?year=2025&term=1")
    assert page.status_code == 200
    assert world.orgs["A"].name in page.text and "みどり第二小学校" not in page.text
    assert client.get(f"/board?school={world.orgs['B'].id}").status_code == 404
    assert client.get(f"/api/v1/board/dashboard?school={world.orgs['B'].id}").status_code == 404
    token = csrf_of(page.text)
    assert client.post("/board/opendata", data={"csrf_token": token}).status_code == 403
    assert client.post("/board/refresh", data={"csrf_token": token}).status_code == 403


def test_board_asking_for_an_individual_gets_403(
    client: Any, sign_in: Any, world: Any, history: Any, db_session: Session
) -> None:
    sign_in("board")
    student = history.students[0]
    attempt = db_session.exec(select(Attempt).where(Attempt.student_id == student.id)).first()
    assert attempt is not None
    assert client.get(f"/api/v1/users/{student.id}").status_code == 403
    assert client.get(f"/results/{attempt.id}").status_code in (403,)
    assert client.get(f"/classes/{world.classes['A1'].id}").status_code == 403


def test_opendata_button_gives_csv_and_metadata(client: Any, sign_in: Any, history: Any) -> None:
    sign_in("board")
    page = client.get("/board")
    response = client.post("/board/opendata", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["metadata.json", "reading_scores.csv"]
    _check_opendata(archive.read("reading_scores.csv"), archive.read("metadata.json"), history)


def _check_opendata(csv_bytes: bytes, meta_bytes: bytes, history: Any, english: bool = False) -> None:
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    text = csv_bytes.decode("utf-8-sig")
    _no_names(text, history)
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:4] == ["全国地方公共団体コード", "地方公共団体名", "公表回", "公表日"]
    assert lines[0] == [c[1] for c in OPENDATA_COLUMNS]  # Japanese header row
    keys = [c[0] for c in OPENDATA_COLUMNS]
    if english:
        assert lines[1] == keys
    rows = [dict(zip(keys, line, strict=True)) for line in lines[2 if english else 1 :]]
    assert rows and all(r["city_name"] == "みどり市" and len(r["release_date"]) == 10 for r in rows)
    cells = [(r["school_year"], r["term"], r["skill"], r["school_code"], r["grade"]) for r in rows]
    assert len(cells) == len(set(cells))  # one row per published cell
    for r in rows:
        if r["suppressed"] == "1":
            assert all(r[c] == "" for c in ("n_tested", "mean_scale_score", "se_mean", "sd", "band1_pct"))
        else:
            assert int(r["n_tested"]) >= 10 and int(r["n_tested"]) % 5 == 0
            assert 200 < int(r["mean_scale_score"]) < 900
    meta = json.loads(meta_bytes.decode("utf-8"))
    assert meta["licence"] == "CC BY 4.0"
    assert meta["suppression"]["min_cell_size"] == 10 and "10人未満" in meta["suppression"]["rule"]["ja"]
    assert meta["rounding"]["count_rounding"] == 5
    assert meta["period"]["from"] == {"school_year": 2025, "term": 1}
    assert meta["period"]["to"] == {"school_year": 2026, "term": 1}
    assert meta["tested_counts"] and meta["population"]["schools"] == 4
    columns = meta["files"]["reading_scores.csv"]["columns"]
    assert [c["name"] for c in columns] == list(rows[0].keys()) and all(c["ja"] and c["en"] for c in columns)
    assert meta["local_government"]["name"] == "みどり市" and meta["releases"]["2025-1"]["release"] == 1


def test_cli_export_opendata(tmp_path: Path, history: Any, settings: Any) -> None:
    from lms.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["board", "export-opendata", "--out", str(tmp_path / "od"), "--english-header"]
    )
    assert result.exit_code == 0, result.output
    assert "rows" in result.output
    folder = tmp_path / "od"
    _check_opendata(
        (folder / "reading_scores.csv").read_bytes(), (folder / "metadata.json").read_bytes(), history, True
    )
    (tmp_path / "file").write_text("x")
    refused = runner.invoke(app, ["board", "export-opendata", "--out", str(tmp_path / "file")])
    assert refused.exit_code == 2 and "not a folder" in refused.output


def test_json_api_matches_the_rules(client: Any, sign_in: Any, api_token: Any, history: Any) -> None:
    sign_in("board")
    data = client.get("/api/v1/board/dashboard?year=2025&term=1&grade=P5").json()
    assert data["min_cell_size"] == 10 and data["city"]["n_tested"] % 5 == 0
    for row in data["table"]:
        if row["suppressed"]:
            assert row["mean_scale_score"] == "" and row["n_tested"] == ""
    assert STUDENT_FAMILY not in json.dumps(data, ensure_ascii=False)
    client.cookies.clear()
    teacher = api_token("t-a1", ["results:read"])
    denied = client.get("/api/v1/board/dashboard", headers={"authorization": f"Bearer {teacher}"})
    assert denied.status_code == 403


def test_bad_filter_is_a_400_with_a_japanese_message(client: Any, sign_in: Any, history: Any) -> None:
    sign_in("board")
    response = client.get("/board?grade=Q7")
    assert response.status_code == 400 and "学年" in response.text


def test_board_enters_a_reference_value_and_sees_the_comparison(
    client: Any, sign_in: Any, history: Any
) -> None:
    sign_in("board")
    page = client.get("/board?year=2025&term=1&grade=P5")
    token = csrf_of(page.text)
    form = {"csrf_token": token, "source": "national", "label": "全国学力・学習状況調査 国語",
            "school_year": "2025", "grade": "P5", "skill": "ALL", "correct_rate_pct": "64.5"}  # fmt: skip
    bad = client.post("/board/reference-values", data={**form, "correct_rate_pct": "abc"})
    assert bad.status_code == 400 and "平均正答率" in bad.text
    too_big = client.post("/board/reference-values", data={**form, "correct_rate_pct": "120"})
    assert too_big.status_code == 400 and "0〜100" in too_big.text
    done = client.post("/board/reference-values", data=form, follow_redirects=False)
    assert done.status_code == 303
    shown = client.get(done.headers["location"].split("#")[0] + "&term=1")
    assert "全国学力・学習状況調査 国語" in shown.text and 'id="ref-table"' in shown.text
    assert "64.5%" in shown.text and "差は計算しません" in shown.text  # as published, never converted
    city = client.get("/api/v1/board/dashboard?year=2025&term=1&grade=P5").json()
    assert city["references"][0]["correct_rate_pct"] == 64.5
    assert city["references"][0]["mean_scale_score"] is None
    client.cookies.clear()
    sign_in("sa-a")
    page = client.get("/board")
    assert "参考値を登録する" not in page.text
    assert (
        client.post("/board/reference-values", data={**form, "csrf_token": csrf_of(page.text)}).status_code
        == 403
    )


def test_city_code_check_digit() -> None:
    assert valid_city_code("011002") and valid_city_code("131016")  # 札幌市, 千代田区
    assert not valid_city_code("011003") and not valid_city_code("13101")


def test_admin_makes_a_release_from_the_page_and_the_board_lands_on_it(
    client: Any, sign_in: Any, history: Any, engine: Any
) -> None:
    sign_in("board")
    landing = client.get("/board")
    assert "第4回公表" in landing.text  # the latest release with data: 2026 term 1
    token = csrf_of(landing.text)
    assert 'id="release-form"' not in landing.text
    refused = client.post("/board/releases", data={"csrf_token": token, "school_year": "2025", "term": "2"})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    sign_in("admin")
    page = client.get("/board")
    assert 'id="release-form"' in page.text
    token = csrf_of(page.text)
    bad = client.post("/board/releases", data={"csrf_token": token, "school_year": "x", "term": "2"})
    assert bad.status_code == 400 and "年度" in bad.text
    made = client.post("/board/releases", data={"csrf_token": token, "school_year": "2025", "term": "2"},
                       follow_redirects=False)  # fmt: skip
    assert made.status_code == 303 and "#release-jobs" in made.headers["location"]
    assert "作成待ち" in client.get("/board").text
    run_pending(engine)  # the background worker's round (lms.board.release_jobs)
    assert "第5回公表" in client.get("/board?year=2025&term=2").text


def test_a_scale_score_reference_needs_a_linking_study(db_session: Session, world: Any) -> None:
    from lms.board.service import add_reference_value
    from lms.core.errors import InvalidInput

    common = {"session": db_session, "actor": world.users["board"], "source": "national", "label": "全国",
              "school_year": 2025, "grade": "P5", "skill": "ALL"}  # fmt: skip
    with pytest.raises(InvalidInput, match="リンキング研究"):
        add_reference_value(**common, mean_scale_score=560.0)
    linked = add_reference_value(
        **common, mean_scale_score=560.0, note="2026年 みどり大学の共通受検によるリンキング"
    )
    assert linked.mean_scale_score == 560.0 and linked.correct_rate_pct is None


def test_the_board_reads_that_parameters_are_provisional_and_no_guessing_label(
    client: Any, sign_in: Any, history: Any
) -> None:
    from lms.reading.delivery import item_bank

    assert any(i.irt is not None and i.irt.provisional for i in item_bank())  # the shipped bank
    sign_in("board")
    html = client.get("/board?year=2025&term=1&skill=ALL&grade=P5").text
    assert 'id="provisional-note"' in html and "暫定値" in html
    assert "当て推量" not in html and "取り組み注意" in html
    assert "当て推量" not in client.get("/board.csv?year=2025&term=1&skill=ALL&grade=P5").text
