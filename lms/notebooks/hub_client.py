"""The LMS's client of the JupyterHub REST API (httpx only: the LMS never imports jupyterhub).

The hub knows the LMS as the service ``giga-lms`` (``hub_config.configurer.lms_service``); its token's role
may create users and groups (``admin:users``, ``admin:groups``) and start, read and stop the servers of
notebook students only (``servers!group=giga-notebook-students``), never teachers', graders' or admins'.

Three uses:
- provisioning: `HubClient.ensure_users` and `HubClient.sync_group` (exact membership, idempotent);
- a whole-class start: `run_prestart` starts every student's server with bounded concurrency and follows
  each until ready or failed, writing into a `PrestartJob` that a progress page polls;
- progress: `HubClient.server_states` (one paginated listing of active servers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from lms.core.errors import DomainError
from lms.notebooks import messages as msg

STUDENTS_GROUP = "giga-notebook-students"  # every notebook student: the LMS may start only their servers
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
ServerState = Literal["ready", "pending", "stopped"]
StartState = Literal["queued", "starting", "ready", "failed"]


class HubUnavailable(DomainError):
    """The hub is not configured, unreachable, or refused the LMS's request."""

    status_code = 503
    default_message = msg.HUB_UNAVAILABLE


def formgrader_url(hub_url: str, course_id: str) -> str:
    """The course's formgrader as browsers reach it (the hub service is named exactly as the course)."""
    return f"{hub_url.rstrip('/')}/services/{quote(course_id, safe='')}/formgrader"


class HubClient:
    """Thin, synchronous wrapper around the endpoints the LMS uses (safe to share between threads)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if not api_url or not token:
            raise HubUnavailable(msg.HUB_NOT_CONFIGURED)
        # The hub's public routes (a course's formgrader at /services/<course>/) sit beside its REST API.
        self._root = api_url.rstrip("/").removesuffix("/hub/api")
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"token {token}"},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        )

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise HubUnavailable(msg.HUB_UNREACHABLE.format(error_type=type(error).__name__)) from None

    @staticmethod
    def _check(response: httpx.Response, what: str) -> httpx.Response:
        if response.status_code in (401, 403):
            raise HubUnavailable(msg.HUB_FORBIDDEN.format(what=what, status_code=response.status_code))
        if response.status_code >= 400:
            raise HubUnavailable(msg.HUB_FAILED.format(what=what, status_code=response.status_code))
        return response

    # --- provisioning -----------------------------------------------------------------------------------

    def ensure_users(self, names: Iterable[str]) -> list[str]:
        """Create the hub users that do not exist yet; return those created (409 = all existed)."""
        wanted = sorted(set(names))
        if not wanted:
            return []
        response = self._request("POST", "/users", json={"usernames": wanted})
        if response.status_code == 409:
            return []
        self._check(response, "ユーザーの作成")
        return sorted(u["name"] for u in response.json())

    def sync_group(self, group: str, wanted: Iterable[str], *, exact: bool = True) -> dict[str, Any]:
        """Make ``group`` exist with exactly ``wanted`` as members (or at least, when not ``exact``)."""
        path = f"/groups/{quote(group, safe='')}"
        response = self._request("GET", path)
        created = response.status_code == 404
        if created:
            self._check(self._request("POST", path), "グループの作成")
            current: set[str] = set()
        else:
            current = set(self._check(response, "グループの読み取り").json()["users"])
        want = set(wanted)
        add = sorted(want - current)
        remove = sorted(current - want) if exact else []
        if add:
            self._check(self._request("POST", f"{path}/users", json={"users": add}), "グループへの追加")
        if remove:
            self._check(
                self._request("DELETE", f"{path}/users", json={"users": remove}), "グループからの削除"
            )
        return {"group": group, "created": created, "added": add, "removed": remove}

    # --- grades from a course's formgrader ----------------------------------------------------------------

    def formgrader_grades(self, course_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every autograded submission of the course, per assignment, read from the course's formgrader
        (nbgrader's formgrader API behind the hub's proxy; the LMS's token needs
        ``access:services!service=<course>``):
        ``{assignment: [{"student", "score", "max_score", "needs_manual_grade"}]}``."""
        base = f"{self._root}/services/{quote(course_id, safe='')}/formgrader/api"
        what = "採点結果の読み取り"
        response = self._request("GET", f"{base}/assignments")
        if response.status_code == 404:
            raise HubUnavailable(msg.FORMGRADER_NOT_FOUND)
        assignments = [a["name"] for a in self._check(response, what).json() if a.get("name")]
        out: dict[str, list[dict[str, Any]]] = {}
        for name in assignments:
            listing = self._check(self._request("GET", f"{base}/submissions/{quote(name, safe='')}"), what)
            out[name] = [
                {
                    "student": row["student"],
                    "score": float(row.get("score") or 0.0),
                    "max_score": float(row.get("max_score") or 0.0),
                    "needs_manual_grade": bool(row.get("needs_manual_grade")),
                }
                for row in listing.json()
                if row.get("autograded") and row.get("submitted")
            ]
        return out

    def formgrader_name_students(self, course_id: str, people: Iterable[dict[str, Any]]) -> list[str]:
        """Give the course's formgrader the roster's names (nbgrader's ``PUT /api/student/<id>``: last = 姓,
        first = 名, kana when no kanji is recorded); returns the students named. Needs the same
        ``access:services!service=<course>`` as the grade pull; a course whose formgrader does not run yet
        (new course before a hub restart) raises HubUnavailable like the grade pull."""
        base = f"{self._root}/services/{quote(course_id, safe='')}/formgrader/api/student"
        named: list[str] = []
        for person in people:
            last = person.get("family_name") or person.get("kana_family_name") or None
            first = person.get("given_name") or person.get("kana_given_name") or None
            response = self._request(
                "PUT",
                f"{base}/{quote(person['username'], safe='')}",
                json={"last_name": last, "first_name": first, "email": None},
            )
            if response.status_code == 404:
                raise HubUnavailable(msg.FORMGRADER_NOT_RUNNING)
            self._check(response, "採点サービスへの名前の登録")
            named.append(person["username"])
        return named

    def _deadlines_url(self, course_id: str, assignment: str) -> str:
        return (
            f"{self._root}/services/{quote(course_id, safe='')}/giga/deadlines/{quote(assignment, safe='')}"
        )

    def formgrader_set_deadline(self, course_id: str, assignment: str, payload: dict[str, Any]) -> None:
        """Due date and extensions into nbgrader's gradebook (``hub_config.formgrader_deadlines``)."""
        response = self._request("PUT", self._deadlines_url(course_id, assignment), json=payload)
        if response.status_code == 404:
            raise HubUnavailable(msg.FORMGRADER_NOT_RUNNING)
        self._check(response, "提出期限の登録")

    def formgrader_lateness(self, course_id: str, assignment: str) -> dict[str, dict[str, Any]]:
        """nbgrader's lateness per student who submitted (empty when nbgrader has no such assignment)."""
        response = self._request("GET", self._deadlines_url(course_id, assignment))
        if response.status_code == 404:
            return {}
        result: dict[str, dict[str, Any]] = self._check(response, "提出時刻の読み取り").json()
        return result

    # --- servers ----------------------------------------------------------------------------------------

    def start_server(self, name: str) -> Literal["ready", "pending", "busy"]:
        """Ask the hub to start ``name``'s default server: ready (201 or already running), pending (202)
        or busy (429: the hub's concurrent spawn limit; try again later)."""
        response = self._request("POST", f"/users/{quote(name, safe='')}/server")
        if response.status_code == 201:
            return "ready"
        if response.status_code == 202:
            return "pending"
        if response.status_code == 429:
            return "busy"
        if response.status_code == 400 and "already running" in response.text:
            return "ready"
        if response.status_code == 400 and "is pending" in response.text:
            return "pending"
        self._check(response, "サーバーの起動")
        return "pending"

    def server_state(self, name: str) -> ServerState:
        """The state of one user's default server."""
        response = self._request("GET", f"/users/{quote(name, safe='')}")
        if response.status_code == 404:
            return "stopped"
        return _state_of(self._check(response, "サーバーの状態の読み取り").json())

    def server_states(self, names: Iterable[str]) -> dict[str, ServerState]:
        """States of ``names`` from one paginated listing of users with an active (ready/pending) server."""
        wanted = set(names)
        states: dict[str, ServerState] = dict.fromkeys(wanted, "stopped")
        offset = 0
        while True:
            response = self._request(
                "GET", "/users", params={"state": "active", "offset": offset, "limit": 200}
            )
            page = self._check(response, "サーバーの一覧の読み取り").json()
            items = page["items"] if isinstance(page, dict) else page
            for user in items:
                if user["name"] in wanted:
                    states[user["name"]] = _state_of(user)
            nxt = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
            if not nxt or not items:
                return states
            offset = int(nxt["offset"])


def _state_of(user: dict[str, Any]) -> ServerState:
    server = (user.get("servers") or {}).get("")
    if not server:
        return "stopped"
    if server.get("ready"):
        return "ready"
    return "pending" if server.get("pending") in ("spawn", None) else "stopped"


# --- a whole-class start ------------------------------------------------------------------------------------


@dataclass
class PrestartJob:
    """Progress of one whole-class start, shared between the worker threads and the progress page."""

    course_id: str
    students: list[str]
    concurrency: int
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    states: dict[str, StartState] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failure: str | None = None  # the whole job could not run (e.g. the hub is unreachable)
    done: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.states = dict.fromkeys(self.students, "queued")

    def set(
        self, name: str, state: StartState, *, error: str | None = None, seconds: float | None = None
    ) -> None:
        with self._lock:
            self.states[name] = state
            if error is not None:
                self.errors[name] = error
            if seconds is not None:
                self.seconds[name] = round(seconds, 1)

    def counts(self) -> dict[str, int]:
        with self._lock:
            values = list(self.states.values())
        return {state: values.count(state) for state in ("queued", "starting", "ready", "failed")}

    def summary(self) -> dict[str, Any]:
        with self._lock:
            states, errors = dict(self.states), dict(self.errors)
        return {
            "course_id": self.course_id,
            "started_at": self.started_at.isoformat(),
            "concurrency": self.concurrency,
            "total": len(states),
            "counts": self.counts(),
            "finished": self.done.is_set(),
            "failure": self.failure,
            "students": [{"name": n, "state": s, "error": errors.get(n)} for n, s in states.items()],
        }


@dataclass(frozen=True)
class PrestartTiming:
    ready_timeout_s: float = 300.0  # a server still not ready after this counts as failed
    poll_interval_s: float = 1.0
    busy_retries: int = 60  # 429 from the hub's concurrent_spawn_limit: wait and try again


def start_one(
    client: HubClient,
    job: PrestartJob,
    name: str,
    timing: PrestartTiming,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Start ``name``'s server and follow it until ready, failed (gone) or timed out."""
    t0 = clock()
    job.set(name, "starting")
    try:
        answer: str = client.start_server(name)
        retries = 0
        while answer == "busy" and retries < timing.busy_retries:
            retries += 1
            sleep(timing.poll_interval_s)
            answer = client.start_server(name)
        if answer == "busy":
            job.set(name, "failed", error=msg.START_HUB_BUSY)
            return
        seen_pending = answer == "pending"
        while answer != "ready":
            if clock() - t0 > timing.ready_timeout_s:
                job.set(name, "failed", error=msg.START_TIMED_OUT)
                return
            sleep(timing.poll_interval_s)
            answer = client.server_state(name)
            if answer == "stopped" and seen_pending:
                job.set(name, "failed", error=msg.START_FAILED)
                return
            seen_pending = seen_pending or answer == "pending"
        job.set(name, "ready", seconds=clock() - t0)
    except HubUnavailable as error:
        job.set(name, "failed", error=error.message)


def run_prestart(
    client_factory: Callable[[], HubClient],
    job: PrestartJob,
    timing: PrestartTiming = PrestartTiming(),
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Start every student of ``job`` with at most ``job.concurrency`` servers starting at once and follow
    each until ready or failed. Measured on 2 cores (benchmarks/bench_hub_start.py), a whole class at once
    finishes first (the hub checks a starting server with back-off, so small waves leave the CPU idle); a
    smaller bound gives the first students a server sooner and keeps a large course below the hub's
    ``concurrent_spawn_limit``. Blocks until all are ready or failed; sets ``job.done``."""
    try:
        with client_factory() as client, ThreadPoolExecutor(max_workers=max(1, job.concurrency)) as pool:
            for future in [pool.submit(start_one, client, job, n, timing, sleep) for n in job.students]:
                future.result()
    except HubUnavailable as error:
        job.failure = error.message
    except Exception as error:  # a background thread: record it, never lose it silently
        job.failure = msg.START_UNEXPECTED_ERROR.format(error_type=type(error).__name__)
    finally:
        job.done.set()


class PrestartRegistry:
    """The latest whole-class start of each course in this LMS process (the page polls it)."""

    def __init__(self, timing: PrestartTiming | None = None) -> None:
        self._jobs: dict[str, PrestartJob] = {}
        self._lock = threading.Lock()
        self.timing = timing or PrestartTiming()

    def get(self, course_id: str) -> PrestartJob | None:
        with self._lock:
            return self._jobs.get(course_id)

    def begin(
        self,
        job: PrestartJob,
        client_factory: Callable[[], HubClient],
    ) -> tuple[PrestartJob, bool]:
        """Run ``job`` in a background thread unless one for the course is still running: (job, started)."""
        with self._lock:
            running = self._jobs.get(job.course_id)
            if running is not None and not running.done.is_set():
                return running, False
            self._jobs[job.course_id] = job
        thread = threading.Thread(
            target=run_prestart, args=(client_factory, job, self.timing), name=f"prestart-{job.course_id}"
        )
        thread.daemon = True
        thread.start()
        return job, True
