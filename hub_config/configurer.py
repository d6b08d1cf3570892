"""JupyterHub configuration as pure functions: each one only *sets traits* on a `traitlets.config.Config`.

``apply(c, settings, hub_version)`` is what ``jupyterhub_config.py`` calls; tests call it (or one of the
parts) on a plain ``Config()`` without starting a hub. Services and roles are built as dicts keyed by name
(mergeable,
as in Zero to JupyterHub) and turned into the lists JupyterHub wants at the end. Options that exist only in
JupyterHub 6 are guarded so that the configuration stays valid on 5.5 (what Zero to JupyterHub ships).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets.config import Config

from hub_config.settings import HubSettings

STUDENT_GROUP = "nbgrader-{course}"
TEACHER_GROUP = "formgrade-{course}"
GRADER_ACCOUNT = "grader-{course}"
LMS_SERVICE = "giga-lms"
NOTEBOOK_STUDENTS_GROUP = "giga-notebook-students"  # every notebook student: the LMS may start their servers
# A lean single-user server (benchmarks/bench_hub_start.py): only the extensions a student uses (Notebook 7,
# nbgrader's assignment list and validate); no JupyterLab app, LSP, terminals, formgrader or course list.
LEAN_SERVER_ARGS = (
    *(
        f"--ServerApp.jpserver_extensions={name}=False"
        for name in (
            "jupyterlab",
            "jupyter_lsp",
            "jupyter_server_terminals",
            "nbgrader.server_extensions.formgrader",
            "nbgrader.server_extensions.course_list",
        )
    ),
    "--ServerApp.terminals_enabled=False",
)
# A formgrader that runs as root (the demo mode as root: the autograde sandbox switches users) serves grading
# only: no terminal, no kernels (authoring runs in the teacher's own, confined server).
ROOT_FORMGRADER_ARGS = (
    "--ServerApp.terminals_enabled=False",
    "--ServerApp.jpserver_extensions=jupyter_server_terminals=False",
    "--ServerApp.kernel_manager_class=hub_config.formgrader_kernels.NoKernelsManager",
)
# Every formgrader: its file browser cannot write what nbgrader or Jupyter load as configuration (code the
# formgrader's process would run: hub_config/formgrader_contents.py)
FORMGRADER_ARGS = (
    "--ServerApp.contents_manager_class=hub_config.formgrader_contents.ConfigLockedContentsManager",
)
HUB_CONFIG_DIR = Path(__file__).resolve().parent
STUDENT_JUPYTER_PATH = HUB_CONFIG_DIR / "jupyter_data"
STUDENT_DEFAULT_URL = "/tree"  # Notebook 7's file browser, in every spawner


def japanese_server_args(hub_config_dir: Path) -> tuple[str, ...]:
    """Notebook 7 in Japanese: the language pack (PyPI jupyterlab-language-pack-ja-JP), chosen by the override
    in ``jupyter_data/lab/settings/overrides.json`` of the hub_config folder where the server runs (this
    machine's, or the student image's copy)."""
    return (f"--JupyterNotebookApp.app_settings_dir={hub_config_dir / 'jupyter_data' / 'lab' / 'settings'}",)


def student_server_args(hub_config_dir: Path = HUB_CONFIG_DIR) -> list[str]:
    """The single-user server's options in every spawner (local, Docker, Kubernetes): lean and Japanese."""
    return [*LEAN_SERVER_ARGS, *japanese_server_args(hub_config_dir)]


JAPANESE_SERVER_ARGS = japanese_server_args(HUB_CONFIG_DIR)
LAZY_IMPORTS_DIR = Path(__file__).resolve().parent / "lazy_imports"  # rfc3987_syntax imported on first use
START_TIMEOUT_S = 240  # measured: 30 simultaneous spawns need 64-69 s; the 30 s default failed all of them
EXTRA_USER_SCOPES = ("list:services",)  # every user may list services (nbgrader's course list)
DEFAULT_USER_SCOPES = ("self",)  # the `user` role of JupyterHub 5.x, extended by hand before 6.0

Roles = dict[str, dict[str, Any]]
Services = dict[str, dict[str, Any]]


def version_tuple(version: str) -> tuple[int, int]:
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in version.split(".")[:2]]
    padded = [*parts, 0, 0]
    return padded[0], padded[1]


def configure_hub(c: Config, s: HubSettings) -> None:
    """Addresses, state files, the proxy from node_modules; all on 127.0.0.1."""
    state = Path(s.state_dir)
    c.JupyterHub.bind_url = s.bind_url
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{s.hub_port}"
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.command = [str(s.proxy_command)]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.concurrent_spawn_limit = 100  # a whole class (40) plus teachers starting at once
    c.JupyterHub.active_server_limit = 0
    c.JupyterHub.admin_access = False


def configure_authenticator(c: Config, s: HubSettings) -> None:
    """Sign-in through the LMS (GenericOAuthenticator, code + PKCE); groups come from the LMS."""
    cls = (
        "oauthenticator.generic.LocalGenericOAuthenticator"
        if s.mode == "local"
        else ("oauthenticator.generic.GenericOAuthenticator")
    )
    c.JupyterHub.authenticator_class = cls
    auth = c.GenericOAuthenticator
    auth.client_id = s.client_id
    auth.client_secret = s.client_secret
    auth.oauth_callback_url = s.callback_url
    auth.authorize_url = s.lms_public_url.rstrip("/") + "/oauth/authorize"
    auth.token_url = s.lms_url.rstrip("/") + "/api/v1/oauth/token"
    auth.userdata_url = s.lms_url.rstrip("/") + "/api/v1/oauth/userinfo"
    auth.username_claim = "name"
    auth.scope = []
    auth.enable_pkce = True
    auth.basic_auth = False
    auth.login_service = "GIGA 学習サイト"
    # The LMS issues codes only to people enrolled in a notebook course: whoever it lets through may enter.
    auth.allow_all = True
    auth.manage_groups = True  # the LMS is the single source of truth for enrolments
    auth.auth_state_groups_key = "oauth_user.groups"
    auth.admin_users = set()  # nobody is hub admin through the LMS: teachers get scoped roles
    auth.admin_groups = set()
    c.Authenticator.auto_login = True
    c.Authenticator.admin_users = set()
    if s.mode == "local":
        c.LocalGenericOAuthenticator.create_system_users = True


def nbgrader_environment(s: HubSettings) -> dict[str, str]:
    """What every nbgrader process started by the hub needs: the platform's global nbgrader config
    (``hub_config/nbgrader_config.py``, found through ``JUPYTER_CONFIG_PATH``) and the exchange it names."""
    here = Path(__file__).resolve().parent
    return {
        "JUPYTER_CONFIG_PATH": str(here),
        "PYTHONPATH": str(here.parent),  # that config imports hub_config (sandbox, private submit, export)
        # nbgrader runs `alembic` (new gradebook), the autograde sandbox `useradd`/`setpriv`/`prlimit`
        "PATH": f"{s.bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "GIGA_NBGRADER_EXCHANGE": str(s.exchange_root),
        "GIGA_LMS_URL": s.lms_url,
    }


def configure_spawner(c: Config, s: HubSettings) -> None:
    """Notebook 7 by default; local processes (one unix user each) for real use, one user for tests."""
    c.Spawner.default_url = STUDENT_DEFAULT_URL
    c.Spawner.environment = nbgrader_environment(s)
    c.Spawner.http_timeout = START_TIMEOUT_S
    c.Spawner.start_timeout = START_TIMEOUT_S
    c.Spawner.cmd = [str(s.bin_dir / "jupyterhub-singleuser")]
    if s.mode == "test":
        c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
        c.SimpleLocalProcessSpawner.home_dir_template = str(Path(s.state_dir) / "homes" / "{username}")
        c.Spawner.args = []
        if s.is_root:  # `make run` as root: never a root server (hub_config/confined_spawner.py)
            c.JupyterHub.spawner_class = "hub_config.confined_spawner.ConfinedLocalProcessSpawner"
            c.ConfinedLocalProcessSpawner.state_dir = str(s.state_dir)
            c.ConfinedLocalProcessSpawner.writable_paths = [str(s.exchange_root)]
            c.ConfinedLocalProcessSpawner.readable_paths = [str(Path(__file__).resolve().parent)]
        # one unix account for everybody: nbgrader must take the student's name from the hub
        c.Spawner.environment = {**nbgrader_environment(s), "GIGA_NBGRADER_STUDENT_IS_HUB_USER": "1"}
    else:
        c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
        c.Spawner.args = []
    c.Spawner.cmd = [*c.Spawner.cmd, *student_server_args()]  # args stay free (--allow-root)
    pythonpath = f"{LAZY_IMPORTS_DIR}:{c.Spawner.environment['PYTHONPATH']}"
    # students' kernels: the python3 kernel spec that loads the 全角/半角 hint (hub_config/zenkaku.py)
    c.Spawner.environment = {
        **c.Spawner.environment,
        "PYTHONPATH": pythonpath,
        "JUPYTER_PATH": str(STUDENT_JUPYTER_PATH),
    }


def idle_culler(s: HubSettings) -> tuple[Services, Roles]:
    """jupyterhub-idle-culler (PyPI) as a hub-managed service with only the scopes it needs."""
    services: Services = {
        "idle-culler": {
            "name": "idle-culler",
            "command": [str(s.python), "-m", "jupyterhub_idle_culler", f"--timeout={s.idle_timeout_s}"],
        }
    }
    roles: Roles = {
        "idle-culler": {
            "name": "idle-culler",
            "services": ["idle-culler"],
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        }
    }
    return services, roles


# JupyterHub hashes a token given in its configuration with 16,384 SHA-512 rounds, at every request that
# presents it (password-grade stretching: a token lookup 1.6 ms instead of 0.3 ms of the hub's one thread at
# load 4 on this machine, 4.9 ms for the hash alone at load 6): during
# 「授業をはじめる」 the LMS polls each starting server every second. A token as random as the ones JupyterHub
# generates itself (`make run`: secrets.token_hex(32)) gains nothing from stretching, so it gets one round.
GENERATED_TOKEN_MIN_CHARS = 32
GENERATED_TOKEN_MIN_DISTINCT = 12


def is_generated_token(token: str) -> bool:
    """At least 32 characters of which at least 12 distinct: what ``secrets.token_hex(32)`` (`make run`)
    and ``secrets.token_urlsafe(24)`` or longer give (and no word or repeated pattern an operator typed). A
    shorter hex token may fall short by chance and is then merely hashed the slow way."""
    return len(token) >= GENERATED_TOKEN_MIN_CHARS and len(set(token)) >= GENERATED_TOKEN_MIN_DISTINCT


def lms_service(s: HubSettings) -> tuple[Services, Roles]:
    """The LMS drives the hub with this token: users and groups (live provisioning), the servers of
    notebook students only (「授業をはじめる」; never teachers', graders' or admins' servers) and read access
    to each course's formgrader (the grade pull)."""
    if not s.service_token:
        return {}, {}
    services: Services = {LMS_SERVICE: {"name": LMS_SERVICE, "api_token": s.service_token}}
    roles: Roles = {
        LMS_SERVICE: {
            "name": LMS_SERVICE,
            "services": [LMS_SERVICE],
            "scopes": [
                "admin:users",
                "admin:groups",
                f"servers!group={NOTEBOOK_STUDENTS_GROUP}",
                "list:services",
                # 「成績をLMSへ送る」: the LMS reads each course's formgrader API through the hub's proxy
                *(f"access:services!service={course}" for course in s.courses),
            ],
        }
    }
    return services, roles


def course_services(s: HubSettings) -> tuple[Services, Roles]:
    """Per course: the formgrader service (named exactly as the course) run by ``grader-<course>``, and the
    roles of its teachers' and students' groups (scoped to that one course; never the admin role)."""
    services: Services = {}
    roles: Roles = {}
    for index, course in enumerate(s.courses):
        port = s.formgrader_base_port + index
        service: dict[str, Any] = {
            "name": course,
            "url": f"http://127.0.0.1:{port}",
            "command": [
                str(s.bin_dir / "jupyterhub-singleuser"),
                f"--port={port}",
                # due dates and extensions from the LMS (nbgrader's API has no extension endpoint)
                "--ServerApp.jpserver_extensions=hub_config.formgrader_deadlines=True",
                *FORMGRADER_ARGS,
            ],
            "cwd": str(Path(s.state_dir) / "courses" / course),
            "environment": {**nbgrader_environment(s), "JUPYTERHUB_DEFAULT_URL": "/formgrader"},
            "oauth_no_confirm": True,
        }
        if s.mode == "local":
            service["user"] = GRADER_ACCOUNT.format(course=course)
        else:  # no unix account: nbgrader's hub plugin still needs the grader's name
            service["environment"]["JUPYTERHUB_USER"] = GRADER_ACCOUNT.format(course=course)
            if s.is_root:  # root for the autograde sandbox; teachers get neither a terminal nor a kernel
                service["command"] += ["--allow-root", *ROOT_FORMGRADER_ARGS]
        services[course] = service
        teachers = TEACHER_GROUP.format(course=course)
        students = STUDENT_GROUP.format(course=course)
        roles[f"formgrade-{course}"] = {
            "name": f"formgrade-{course}",
            "groups": [teachers],
            "scopes": [
                f"access:services!service={course}",
                "list:services",
                f"read:services!service={course}",
            ],
        }
        roles[f"nbgrader-{course}"] = {
            "name": f"nbgrader-{course}",
            "groups": [students],
            "scopes": ["list:services", f"read:services!service={course}"],
        }
        roles[f"service-{course}"] = {
            "name": f"service-{course}",
            "services": [course],
            "scopes": ["read:users", "list:users", "list:groups", "read:groups", "groups", "admin:groups"],
        }
    return services, roles


def server_role() -> Roles:
    """What each single-user server's token may do (nbgrader needs groups and the service list)."""
    return {
        "server": {
            "name": "server",
            "scopes": [
                "users:activity!user",
                "access:servers!server",
                "read:users:groups!user",
                "read:users:name!user",
                "list:services",
                "read:services",
            ],
        }
    }


def user_scopes(c: Config, roles: Roles, hub_version: str) -> None:
    """Extra scopes for every user: the 6.x option when available, else an explicit `user` role (5.5)."""
    if version_tuple(hub_version) >= (6, 0):
        c.JupyterHub.extra_user_scopes = set(EXTRA_USER_SCOPES)
    else:
        roles["user"] = {"name": "user", "scopes": [*DEFAULT_USER_SCOPES, *EXTRA_USER_SCOPES]}


def apply(c: Config, s: HubSettings, hub_version: str) -> Config:
    """The whole configuration; returns ``c`` for convenience."""
    configure_hub(c, s)
    configure_authenticator(c, s)
    configure_spawner(c, s)
    services: Services = {}
    roles: Roles = {}
    for part in (idle_culler(s), lms_service(s), course_services(s)):
        services.update(part[0])
        roles.update(part[1])
    roles.update(server_role())
    user_scopes(c, roles, hub_version)
    c.JupyterHub.services = list(services.values())
    c.JupyterHub.load_roles = list(roles.values())
    # the only configured token is the LMS's (the formgraders' are generated by the hub)
    c.JupyterHub.trust_user_provided_tokens = is_generated_token(s.service_token)
    return c
