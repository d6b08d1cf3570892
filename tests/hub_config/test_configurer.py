"""The hub configuration, checked on a plain traitlets Config (no hub is started)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from hub_config.configurer import START_TIMEOUT_S, apply, version_tuple
from hub_config.settings import HubSettings, HubSettingsError


def settings(**changes: object) -> HubSettings:
    base: dict[str, object] = {
        "mode": "test",
        "state_dir": Path("/tmp/giga-hub-test"),
        "courses": ("a1-prog", "j2-data"),
        "service_token": "svc-token-for-tests",
        "is_root": False,
    }
    base.update(changes)
    return HubSettings(**base)  # type: ignore[arg-type]


def configured(hub_version: str = "6.1.1", **changes: object) -> Config:
    return apply(Config(), settings(**changes), hub_version)


def roles_by_name(c: Config) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in c.JupyterHub.load_roles}


def test_hub_binds_to_loopback_8001_with_the_proxy_from_node_modules() -> None:
    c = configured()
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8001"
    assert c.JupyterHub.hub_bind_url.startswith("http://127.0.0.1:")
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    assert c.ConfigurableHTTPProxy.command[0].endswith("node_modules/.bin/configurable-http-proxy")


def test_authenticator_points_at_the_lms_and_manages_groups() -> None:
    c = configured(lms_url="http://127.0.0.1:8123", lms_public_url="https://lms.example.jp")
    auth = c.GenericOAuthenticator
    assert c.JupyterHub.authenticator_class == "oauthenticator.generic.GenericOAuthenticator"
    assert auth.authorize_url == "https://lms.example.jp/oauth/authorize"
    assert auth.token_url == "http://127.0.0.1:8123/api/v1/oauth/token"
    assert auth.userdata_url == "http://127.0.0.1:8123/api/v1/oauth/userinfo"
    assert auth.oauth_callback_url == "http://127.0.0.1:8001/hub/oauth_callback"
    assert auth.manage_groups is True and auth.auth_state_groups_key == "oauth_user.groups"
    assert auth.enable_pkce is True and auth.username_claim == "name"
    assert auth.admin_users == set() and auth.admin_groups == set()


def test_test_mode_uses_the_simple_spawner_and_confines_servers_as_root() -> None:
    c = configured()
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.SimpleLocalProcessSpawner"
    assert c.Spawner.args == []
    as_root = configured(is_root=True)
    assert as_root.JupyterHub.spawner_class == "hub_config.confined_spawner.ConfinedLocalProcessSpawner"
    assert "--allow-root" not in as_root.Spawner.args  # the server never runs as root
    settings = next(arg for arg in as_root.Spawner.cmd if "app_settings_dir" in arg).split("=", 1)[1]
    overrides = json.loads((Path(settings) / "overrides.json").read_text())
    assert overrides["@jupyterlab/translation-extension:plugin"]["locale"] == "ja_JP"
    formgrader = {s["name"]: s for s in as_root.JupyterHub.services}["a1-prog"]["command"]
    assert "--ServerApp.terminals_enabled=False" in formgrader
    assert "--ServerApp.kernel_manager_class=hub_config.formgrader_kernels.NoKernelsManager" in formgrader


def test_local_mode_runs_one_unix_user_per_person() -> None:
    c = configured(mode="local")
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"
    assert c.JupyterHub.authenticator_class == "oauthenticator.generic.LocalGenericOAuthenticator"
    assert c.LocalGenericOAuthenticator.create_system_users is True
    assert "--allow-root" not in c.Spawner.args
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["a1-prog"]["user"] == "grader-a1-prog"


@pytest.mark.parametrize("mode", ["local", "test"])
def test_notebook7_and_the_measured_timeouts_in_both_modes(mode: str) -> None:
    c = configured(mode=mode)
    assert c.Spawner.default_url == "/tree"
    assert c.Spawner.http_timeout == START_TIMEOUT_S == c.Spawner.start_timeout == 240


@pytest.mark.parametrize("mode", ["local", "test"])
def test_servers_and_formgraders_load_the_platform_nbgrader_config_and_share_one_exchange(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from traitlets.config.loader import PyFileConfigLoader

    c = configured(mode=mode, exchange_root=Path("/srv/x/exchange"))
    service = {s["name"]: s for s in c.JupyterHub.services}["a1-prog"]
    for env in (c.Spawner.environment, service["environment"]):
        config_dir = Path(env["JUPYTER_CONFIG_PATH"])
        assert (config_dir / "nbgrader_config.py").is_file()
        assert env["GIGA_NBGRADER_EXCHANGE"] == "/srv/x/exchange"
    # the grader's formgrader never takes a student's name; in test mode (one unix account) servers do
    assert "GIGA_NBGRADER_STUDENT_IS_HUB_USER" not in service["environment"]
    flagged = c.Spawner.environment.get("GIGA_NBGRADER_STUDENT_IS_HUB_USER") == "1"
    assert flagged is (mode == "test")
    for name, value in {**c.Spawner.environment, "JUPYTERHUB_USER": "s1"}.items():
        monkeypatch.setenv(name, value)  # what a student's server sees
    nb_config = PyFileConfigLoader("nbgrader_config.py", path=str(config_dir)).load_config()
    assert nb_config.Exchange.root == "/srv/x/exchange"
    assert nb_config.CourseDirectory.get("student_id") == ("s1" if mode == "test" else None)


def test_idle_culler_is_a_service_with_a_narrow_role() -> None:
    c = configured(idle_timeout_s=1800)
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["idle-culler"]["command"][1:] == ["-m", "jupyterhub_idle_culler", "--timeout=1800"]
    role = roles_by_name(c)["idle-culler"]
    assert role["services"] == ["idle-culler"] and "admin:users" not in role["scopes"]


def test_each_course_gets_its_formgrader_service_and_scoped_roles() -> None:
    c = configured()
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert {"a1-prog", "j2-data"} <= services.keys()
    assert services["a1-prog"]["url"] != services["j2-data"]["url"]
    assert services["a1-prog"]["oauth_no_confirm"] is True
    assert services["a1-prog"]["environment"]["JUPYTERHUB_DEFAULT_URL"] == "/formgrader"
    roles = roles_by_name(c)
    teacher = roles["formgrade-a1-prog"]
    assert teacher["groups"] == ["formgrade-a1-prog"]
    assert "access:services!service=a1-prog" in teacher["scopes"]
    assert not any("j2-data" in scope for scope in teacher["scopes"])  # scoped to their own course
    student = roles["nbgrader-a1-prog"]
    assert student["groups"] == ["nbgrader-a1-prog"]
    assert not any(scope.startswith("access:services") for scope in student["scopes"])
    assert roles["service-a1-prog"]["services"] == ["a1-prog"]


def test_teachers_are_never_admin() -> None:
    c = configured()
    for role in c.JupyterHub.load_roles:
        assert role["name"] != "admin"
        assert "admin-ui" not in role["scopes"]
        if any(g.startswith("formgrade-") for g in role.get("groups", [])):
            assert not any(s.startswith("admin") for s in role["scopes"])
    assert c.JupyterHub.admin_access is False


def test_lms_service_only_with_a_token() -> None:
    with_token = {s["name"] for s in configured().JupyterHub.services}
    without = {s["name"] for s in configured(service_token="").JupyterHub.services}
    assert "giga-lms" in with_token and "giga-lms" not in without


def test_the_lms_may_read_each_courses_formgrader_and_nothing_broader() -> None:
    c = configured()
    scopes = roles_by_name(c)["giga-lms"]["scopes"]
    courses = [s["name"] for s in c.JupyterHub.services if s["name"] not in ("giga-lms", "idle-culler")]
    assert courses and all(f"access:services!service={course}" in scopes for course in courses)
    assert "access:services" not in scopes and "admin:servers" not in scopes


def test_six_only_option_is_guarded_for_jupyterhub_5_5() -> None:
    six = configured("6.1.1")
    assert six.JupyterHub.extra_user_scopes == {"list:services"}
    assert "user" not in roles_by_name(six)
    five = configured("5.5.1")
    assert "extra_user_scopes" not in five.JupyterHub
    assert roles_by_name(five)["user"]["scopes"] == ["self", "list:services"]
    assert version_tuple("5.5.1") == (5, 5) and version_tuple("6.0.0b1") == (6, 0)


def test_every_trait_set_exists_on_the_installed_classes() -> None:
    """Catches typos: each configured class/trait must exist (JupyterHub 6.1.1 and oauthenticator 17)."""
    classes = {
        "JupyterHub": "jupyterhub.app.JupyterHub",
        "Spawner": "jupyterhub.spawner.Spawner",
        "SimpleLocalProcessSpawner": "jupyterhub.spawner.SimpleLocalProcessSpawner",
        "ConfigurableHTTPProxy": "jupyterhub.proxy.ConfigurableHTTPProxy",
        "Authenticator": "jupyterhub.auth.Authenticator",
        "GenericOAuthenticator": "oauthenticator.generic.GenericOAuthenticator",
        "LocalGenericOAuthenticator": "oauthenticator.generic.LocalGenericOAuthenticator",
    }
    for mode in ("test", "local"):
        c = configured(mode=mode)
        for section, traits in c.items():
            module, _, name = classes[section].rpartition(".")
            cls = getattr(importlib.import_module(module), name)
            for trait in traits:
                assert cls.class_traits(config=True).get(trait) is not None, f"{section}.{trait}"


def test_settings_from_env_and_clear_errors(tmp_path: Path) -> None:
    courses_file = tmp_path / "courses.json"
    courses_file.write_text('["b2-prog"]', encoding="utf-8")
    s = HubSettings.from_env(
        {
            "GIGA_HUB_MODE": "test",
            "GIGA_HUB_COURSES": "a1-prog, c3-data",
            "GIGA_HUB_COURSES_FILE": str(courses_file),
        }
    )
    assert s.mode == "test" and s.courses == ("a1-prog", "b2-prog", "c3-data")
    with pytest.raises(HubSettingsError, match="GIGA_HUB_MODE"):
        HubSettings.from_env({"GIGA_HUB_MODE": "swarm"})
    with pytest.raises(HubSettingsError, match="course id"):
        HubSettings.from_env({"GIGA_HUB_COURSES": "Bad_Course"})
    with pytest.raises(HubSettingsError, match="GIGA_OAUTH_HUB_CLIENT_SECRET"):
        HubSettings.from_env({"GIGA_ENVIRONMENT": "production"})
    with pytest.raises(HubSettingsError, match="GIGA_HUB_HUB_PORT"):
        HubSettings.from_env({"GIGA_HUB_HUB_PORT": "80a"})


@pytest.mark.parametrize("is_root", [False, True])
def test_every_formgrader_loads_the_deadline_extension(is_root: bool) -> None:
    """Due dates and extensions from the LMS go through hub_config.formgrader_deadlines; the formgrader's
    command line must enable it without undoing the root formgrader's other extension switches."""
    from jupyter_server.serverapp import ServerApp

    c = configured(is_root=is_root)
    command = {s["name"]: s for s in c.JupyterHub.services}["a1-prog"]["command"]
    app = ServerApp()
    app.parse_command_line(command[1:])
    extensions = app.config.ServerApp.jpserver_extensions
    assert extensions["hub_config.formgrader_deadlines"] is True
    assert extensions.get("jupyter_server_terminals", not is_root) is (not is_root)
