"""A validation error on the assign form keeps every child's accommodations as entered (issue 19)."""

from __future__ import annotations

import re
from typing import Any

from tests.lms.conftest import csrf_of


def test_an_error_keeps_every_accommodation(client: Any, sign_in: Any, world: Any) -> None:
    sign_in("t-a1")
    klass = world.classes["A1"].id
    page = client.get(f"/classes/{klass}/assignments/new")
    s1, s2 = world.users["s-a1"].id, world.users["s-a1b"].id
    form = {
        "csrf_token": csrf_of(page.text),
        "title": "まちがいのある割り当て",
        "kind": "fixed",
        "item_ids": ["DEP-001"],
        "target": "some",
        "student_ids": [str(s2)],
        "acc_user": [str(s1), str(s2)],
        f"ruby_{s1}": "all",
        f"extra_{s1}": "50",
        f"aloud_{s1}": "on",
        f"large_{s2}": "on",
        f"ruby_{s2}": "P4",
        "opens_at": "2030-05-01T10:00",
        "closes_at": "2030-05-01T09:00",  # closes before it opens: refused
    }
    answer = client.post(f"/classes/{klass}/assignments", data=form, follow_redirects=False)
    assert answer.status_code == 400
    html = answer.text
    assert re.search(rf'name="ruby_{s1}"[^>]*>.*?<option value="all" selected>', html, re.S)
    assert re.search(rf'name="extra_{s1}"[^>]*>.*?<option value="50" selected>', html, re.S)
    assert re.search(rf'name="ruby_{s2}"[^>]*>.*?<option value="P4" selected>', html, re.S)
    assert re.search(rf'name="aloud_{s1}"[^>]*checked', html)
    assert re.search(rf'name="large_{s2}"[^>]*checked', html)
    assert not re.search(rf'name="aloud_{s2}"[^>]*checked', html)
    assert re.search(rf'name="student_ids" value="{s2}"[^>]*checked', html)
    assert 'value="2030-05-01T10:00"' in html
