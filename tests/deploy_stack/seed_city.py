"""Run inside the LMS container (`exec -T lms python - < seed_city.py`): one school, a J3 class (the whole
item bank is eligible) with a teacher and students who sign in with a password, an admin with an API token of
scope ``hub`` and a notebook course. Prints the ids as JSON. Imports only the image's packages (no tests/)."""

from __future__ import annotations

import json
import os

from sqlmodel import Session

from lms.auth.models import ApiToken
from lms.auth.passwords import hash_password
from lms.auth.tokens import new_api_secret, sha256_hex
from lms.core.db import make_engine
from lms.notebooks.models import NotebookCourse
from lms.roster.models import Enrollment, Org, SchoolClass, User

PASSWORD = os.environ.get("SEED_PASSWORD", "city-password-42")
STUDENTS = int(os.environ.get("SEED_STUDENTS", "3"))
COURSE = os.environ.get("SEED_COURSE", "city-prog")

engine = make_engine(os.environ["GIGA_DATABASE_URL"])
password_hash = hash_password(PASSWORD)
with Session(engine) as session:
    school = Org(sourced_id="city-school", name="みどり中学校", type="school", identifier="C100000000009")
    session.add(school)
    session.flush()
    assert school.id is not None
    klass = SchoolClass(sourced_id="city-c1", title="3年1組", grades="J3", school_id=school.id)
    session.add(klass)
    session.flush()
    assert klass.id is not None
    people = [("city-t1", "teacher")] + [(f"city-s{n}", "student") for n in range(1, STUDENTS + 1)]
    for number, (username, role) in enumerate(people):
        user = User(
            username=username,
            role=role,
            given_name=username,
            family_name="山田",
            kana_given_name="テスト",
            kana_family_name="ヤマダ",
            password_hash=password_hash,
            primary_org_id=school.id,
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(
            Enrollment(
                sourced_id=f"en-{username}",
                class_id=klass.id,
                user_id=user.id,
                school_id=school.id,
                role=role,
                shusseki_no=number if role == "student" else None,
            )
        )
    admin = User(username="city-admin", role="admin", given_name="管理", family_name="山田")
    session.add(admin)
    session.flush()
    assert admin.id is not None
    secret = new_api_secret()
    session.add(
        ApiToken(
            user_id=admin.id,
            name="hub provisioning",
            token_hash=sha256_hex(secret),
            prefix=secret[:12],
            scopes="hub grades:write",
        )
    )
    session.add(NotebookCourse(class_id=klass.id, course_id=COURSE))
    session.commit()
    print(
        json.dumps(
            {
                "class_id": klass.id,
                "teacher": "city-t1",
                "students": [p[0] for p in people if p[1] == "student"],
                "password": PASSWORD,
                "hub_token": secret,
                "course": COURSE,
            }
        )
    )
engine.dispose()
