"""A resource link naming a notebook lesson (``giga_target=/notebooks/<course>/<assignment>``): the launch
signs the child in and lands on the lesson's page, whose button opens the hub — in a new window carrying a
one-time ticket when the page is inside the portal's iframe (the hub refuses frames), directly otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session

from lms.notebooks.models import NotebookCourse, NotebookDeadline
from tests.conftest import RosterCity
from tests.lti.conftest import OUR_PAGE, launch
from tests.lti.platform import LaunchSpec, TestPlatform

HUB_TREE = "http://127.0.0.1:8001/hub/user-redirect/tree"  # the default hub_url of the test settings


@pytest.fixture
def city_course(roster_city: RosterCity, db_session: Session) -> NotebookCourse:
    """Class cls-es-3-1 (students stu-es-1, stu-es-2) made a notebook course with one due date."""
    from datetime import UTC, datetime

    row = NotebookCourse(class_id=roster_city.klass("cls-es-3-1").id, course_id="es-3-1-prog")
    db_session.add(row)
    db_session.flush()
    assert row.id is not None
    db_session.add(
        NotebookDeadline(
            course_id=row.id, assignment_name="lesson1", due_at=datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
        )
    )
    db_session.commit()
    return row


def _open_link(page: str) -> str:
    found = re.search(r'id="open-lesson" href="([^"]+)"', page)
    assert found is not None, page[:2000]
    return found.group(1).replace("&amp;", "&")


def test_a_launch_naming_a_lesson_opens_it_and_the_hub_in_a_new_signed_in_window(
    client: Any, platform: TestPlatform, registered: Any, city_course: NotebookCourse
) -> None:
    spec = LaunchSpec(sub="stu-es-1", custom={"giga_target": "/notebooks/es-3-1-prog/lesson1"})
    launched = launch(client, platform, spec)
    landing = client.get(launched.response.headers["location"], follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == "/notebooks/es-3-1-prog/lesson1"
    page = client.get("/notebooks/es-3-1-prog/lesson1")
    assert page.status_code == 200
    assert "ノートブックの授業「lesson1」" in page.text and "2026-12-10 17:00" in page.text
    href = _open_link(page.text)
    assert href.startswith("/lti/handoff?h=") and 'target="_blank"' in page.text
    # the framed page may be shown by the portal (the launch's marker cookie)
    assert platform.base_url in page.headers["content-security-policy"]
    client.cookies.clear()  # the new top-level window does not see the iframe's partitioned cookie
    opened = client.get(href, headers=OUR_PAGE, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/notebooks/es-3-1-prog/lesson1/open"
    assert "Partitioned" not in opened.headers["set-cookie"]  # a first-party sign-in: the hub's OAuth sees it
    hub = client.get(opened.headers["location"], follow_redirects=False)
    assert hub.status_code == 303 and hub.headers["location"] == HUB_TREE
    client.cookies.clear()  # and the ticket is spent
    assert client.get(href, headers=OUR_PAGE, follow_redirects=False).status_code == 400


def test_a_lesson_of_a_class_one_is_not_in_is_not_found(
    client: Any, platform: TestPlatform, registered: Any, city_course: NotebookCourse
) -> None:
    spec = LaunchSpec(sub="stu-es-3", custom={"giga_target": "/notebooks/es-3-1-prog/lesson1"})  # class 4-1
    launched = launch(client, platform, spec)
    landing = client.get(launched.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"] == "/notebooks/es-3-1-prog/lesson1"  # the portal's link, as given
    for path in (
        "/notebooks/es-3-1-prog/lesson1",
        "/notebooks/es-3-1-prog/lesson1/open",
        "/notebooks/no-such-course/lesson1",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert "このノートブックの授業は見つかりません" in response.text


def test_outside_the_iframe_the_button_goes_to_the_hub_directly(
    client: Any, platform: TestPlatform, registered: Any, city_course: NotebookCourse
) -> None:
    launch(client, platform, LaunchSpec(sub="stu-es-2"))
    client.cookies.delete("giga_lti")  # a launch in a new window: no iframe marker
    page = client.get("/notebooks/es-3-1-prog/lesson2")
    assert page.status_code == 200 and "提出期限" not in page.text
    assert _open_link(page.text) == HUB_TREE and 'target="_blank"' not in page.text
    assert client.get("/notebooks/es-3-1-prog/bad name!").status_code == 404


def test_the_teacher_of_the_class_may_open_the_lesson_page_too(
    client: Any, platform: TestPlatform, registered: Any, city_course: NotebookCourse
) -> None:
    spec = LaunchSpec(sub="tch-es-1", custom={"giga_target": "/notebooks/es-3-1-prog/lesson1"})
    launched = launch(client, platform, spec)
    landing = client.get(launched.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"] == "/notebooks/es-3-1-prog/lesson1"
    assert client.get("/notebooks/es-3-1-prog/lesson1").status_code == 200
