"""Real browser, issue 19: a teacher reaches the notebook lesson from the class page — the formgrader and
their own notebooks are linked, and 「成績をLMSへ送る」 pulls the autograded scores from the course's
formgrader (a fake one behind a real HTTP port, as the hub's proxy serves it) into the gradebook; axe-core
clean."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlmodel import Session

from tests.browser.test_runner_a11y import axe_violations
from tests.browser.test_runner_take_test import sign_in

pytestmark = pytest.mark.browser
TOKEN = "browser-test-hub-token"
SUBMISSIONS = {
    "01-otsuri": [
        {"student": "s-a1", "score": 7.0, "max_score": 10.0, "autograded": True, "submitted": True},
        {"student": "s-a1b", "score": 10.0, "max_score": 10.0, "autograded": True, "submitted": True},
    ]
}


DEADLINES: dict[str, Any] = {}  # what the LMS sent to the formgrader's deadline endpoint
LATENESS = {  # as hub_config.deadlines.lateness answers (nbgrader's total_seconds_late)
    "s-a1": {"timestamp": "2026-12-10T08:15:00", "duedate": "2026-12-10T08:00:00", "extension_minutes": 0,
             "seconds_late": 900.0},
    "s-a1b": {"timestamp": "2026-12-10T09:00:00", "duedate": "2026-12-10T09:30:00", "extension_minutes": 90,
              "seconds_late": 0.0},
}  # fmt: skip


class FakeFormgrader(BaseHTTPRequestHandler):
    def do_PUT(self) -> None:
        if self.path.startswith("/services/a1-prog/giga/deadlines/"):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            DEADLINES[self.path.rsplit("/", 1)[1]] = body
            self._json(200, body)
        else:
            self._json(404, {"message": "not here"})

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"token {TOKEN}":
            self._json(403, {"message": "bad token"})
        elif self.path.startswith("/services/a1-prog/giga/deadlines/"):
            self._json(200, LATENESS if self.path.endswith("/01-otsuri") else {})
        elif self.path == "/services/a1-prog/formgrader/api/assignments":
            self._json(200, [{"name": name} for name in SUBMISSIONS])
        elif self.path.startswith("/services/a1-prog/formgrader/api/submissions/"):
            self._json(200, SUBMISSIONS.get(self.path.rsplit("/", 1)[1], []))
        else:
            self._json(404, {"message": "not here"})

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def fake_hub() -> Iterator[str]:
    server = None
    for port in range(8350, 8400):  # this helper's port range
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), FakeFormgrader)
            break
        except OSError:
            continue
    assert server is not None, "no free port in 8350–8399"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Any, fake_hub: str) -> Any:
    """The test settings, wired to the fake hub (as `make run` wires the real one)."""
    settings.hub_api_url = f"{fake_hub}/hub/api"
    settings.hub_service_token = TOKEN
    return settings


def test_teacher_reaches_the_lesson_and_sends_grades(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    from lms.notebooks.models import NotebookCourse

    db_session.add(NotebookCourse(class_id=world.classes["A1"].id, course_id="a1-prog"))
    db_session.commit()
    klass = world.classes["A1"].id
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, "t-a1")
    page.goto(f"{live_server}/classes/{klass}")
    assert page.get_by_role("link", name="課題の配布・回収・採点（formgrader）").get_attribute("href") == (
        "http://127.0.0.1:8001/services/a1-prog/formgrader"
    )
    assert page.get_by_role("link", name="自分のノートブックを開く").get_attribute("href") == (
        "http://127.0.0.1:8001/hub/user-redirect/tree"
    )
    assert axe_violations(page) == []
    page.get_by_role("link", name="ノートブック（授業をはじめる・成績）").click()
    page.wait_for_url(f"{live_server}/classes/{klass}/notebooks")
    assert "GIGA_" not in page.content() and "nbgrader-" not in page.content()
    # 提出期限（JST）と 花子 の延長 through the form, sent to the formgrader
    page.get_by_label("課題名（formgrader の課題名）").fill("01-otsuri")
    page.get_by_label("提出期限（日本時間）").fill("2026-12-10T17:00")
    page.get_by_label("山田 花子（s-a1b）").fill("1.5")
    page.get_by_role("button", name="提出期限を保存して送る").click()
    page.get_by_text("提出期限と延長を保存し、採点サービス（formgrader）に送りました。").wait_for()
    assert DEADLINES["01-otsuri"] == {"duedate": "2026-12-10T08:00:00+00:00", "extensions": {"s-a1b": 90}}
    assert "2026-12-10 17:00" in page.locator("#deadline-list").inner_text()
    assert axe_violations(page) == []
    page.get_by_role("button", name="成績をLMSへ送る").click()
    page.get_by_text("採点サービスから 2 件の得点を受け取り").wait_for()
    table = page.locator("#notebook-gradebook")
    assert "7 / 10" in table.inner_text() and "10 / 10" in table.inner_text()
    assert "期限後の提出（15分おくれ）" in table.inner_text() and "延長して期限内" in table.inner_text()
    assert axe_violations(page) == []
