"""Stored URLs (issue 15): a URL one user stores and another opens is https (http only to configured hosts);
``javascript:`` and its disguises are refused with 422 and never reach a student's page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from lms.core.urls import check_stored_url

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "javascript\n:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "//evil.example/feedback",
    "/relative/feedback",
    "http://evil.example/feedback",
    "https://user:pass@evil.example/",
    "https:///no-host",
    "ftp://files.example/feedback",
    "https://[::1",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="https://"):
        check_stored_url(url, http_hosts=frozenset())


def test_https_anywhere_and_http_only_to_configured_hosts() -> None:
    assert check_stored_url("https://hub.example.jp/feedback/ps1?x=1#a", http_hosts=frozenset())
    assert check_stored_url("http://hub.local:8000/f", http_hosts=frozenset({"hub.local"}))
    with pytest.raises(ValueError):
        check_stored_url("http://other.local/f", http_hosts=frozenset({"hub.local"}))


def _grades(url: str) -> dict[str, Any]:
    line = {"student": "s-a1", "score": 7, "max_score": 10, "feedback_url": url}
    return {"assignment": "ps1-hensu", "grades": [line]}


@pytest.mark.parametrize("url", HOSTILE[:8])
def test_a_hostile_feedback_url_is_422_and_stores_nothing(
    client: Any, course: Any, api_token: Any, db_session: Any, url: str
) -> None:
    from lms.notebooks.models import NotebookGrade

    headers = {"Authorization": f"Bearer {api_token('t-a1', ['grades:write'])}"}
    response = client.post("/api/v1/notebooks/a1-prog/grades", json=_grades(url), headers=headers)
    assert response.status_code == 422, response.text
    assert "https://" in response.text
    db_session.expire_all()
    assert list(db_session.exec(select(NotebookGrade))) == []


def test_an_https_feedback_url_reaches_the_student_as_that_link(
    client: Any, course: Any, api_token: Any, sign_in: Any
) -> None:
    headers = {"Authorization": f"Bearer {api_token('t-a1', ['grades:write'])}"}
    url = "https://hub.example.jp/feedback/ps1?s=1&t=2"
    assert (
        client.post("/api/v1/notebooks/a1-prog/grades", json=_grades(url), headers=headers).status_code == 200
    )
    sign_in("s-a1")
    page = client.get("/notebooks").text
    assert 'href="https://hub.example.jp/feedback/ps1?s=1&amp;t=2"' in page
    assert "javascript:" not in page
