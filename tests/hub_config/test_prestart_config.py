"""The hub side of 「授業をはじめる」: the LMS's scoped role, the lean single-user command and the lazy
import of ``rfc3987_syntax`` (checked on a plain Config and in a subprocess; no hub is started)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

from traitlets.config import Config

from hub_config.configurer import (
    JAPANESE_SERVER_ARGS,
    LAZY_IMPORTS_DIR,
    LEAN_SERVER_ARGS,
    NOTEBOOK_STUDENTS_GROUP,
    apply,
)
from hub_config.docker_mode import ContainerSettings
from hub_config.kubernetes import apply_kubernetes
from hub_config.settings import HubSettings


def configured(**changes: object) -> Config:
    base: dict[str, object] = {
        "mode": "test",
        "state_dir": Path("/tmp/giga-hub-test"),
        "courses": ("a1-prog",),
        "service_token": "svc-token-for-tests",
        "is_root": False,
    }
    base.update(changes)
    return apply(Config(), HubSettings(**base), "6.1.1")  # type: ignore[arg-type]


def test_the_lms_may_start_only_notebook_students_servers() -> None:
    role = {r["name"]: r for r in configured().JupyterHub.load_roles}["giga-lms"]
    scopes = set(role["scopes"])
    assert f"servers!group={NOTEBOOK_STUDENTS_GROUP}" in scopes
    assert not any(s in scopes for s in ("admin:servers", "servers", "admin-ui", "admin:auth_state"))
    assert {"admin:users", "admin:groups"} <= scopes  # live provisioning: users and groups


def test_servers_start_lean_in_every_mode() -> None:
    for mode in ("test", "local"):
        c = configured(mode=mode)
        assert c.Spawner.cmd[0].endswith("jupyterhub-singleuser")
        assert c.Spawner.cmd[1:] == [*LEAN_SERVER_ARGS, *JAPANESE_SERVER_ARGS]
        extensions = " ".join(LEAN_SERVER_ARGS)
        for off in ("=jupyterlab=False", "=nbgrader.server_extensions.formgrader=False"):
            assert off in extensions
        assert "assignment_list" not in extensions and "validate_assignment" not in extensions
        first = c.Spawner.environment["PYTHONPATH"].split(os.pathsep)[0]
        assert Path(first) == LAZY_IMPORTS_DIR
    service = {s["name"]: s for s in configured().JupyterHub.services}["a1-prog"]
    # the formgrader keeps its own extension; it only adds the due-date one (hub_config/formgrader_deadlines)
    assert not any("formgrader=False" in part for part in service["command"])
    assert [p for p in service["command"] if "jpserver_extensions" in p] == [
        "--ServerApp.jpserver_extensions=hub_config.formgrader_deadlines=True"
    ]


def test_lean_extension_setting_parses_to_booleans() -> None:
    from jupyter_server.serverapp import ServerApp

    app = ServerApp()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        app.parse_command_line(list(LEAN_SERVER_ARGS))
    assert app.jpserver_extensions["jupyterlab"] is False
    assert app.jpserver_extensions["nbgrader.server_extensions.formgrader"] is False
    assert app.terminals_enabled is False


def test_the_lazy_stand_in_defers_the_import_and_validates_the_same() -> None:
    script = textwrap.dedent(
        """
        import sys
        from jsonschema import Draft7Validator
        checker = Draft7Validator.FORMAT_CHECKER
        assert "rfc3987_syntax.syntax_helpers" not in sys.modules, "the heavy module was imported eagerly"
        v = Draft7Validator({"format": "iri"}, format_checker=checker)
        print(v.is_valid("http://例え.jp/パス"), v.is_valid("not an iri"))
        assert "rfc3987_syntax.syntax_helpers" in sys.modules, "validation must use the real package"
        """
    )
    env = {**os.environ, "PYTHONPATH": str(LAZY_IMPORTS_DIR)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


def test_a_random_service_token_is_checked_with_one_hash_round_not_16384() -> None:
    """JupyterHub stretches configured tokens like passwords at every request; the LMS's token is as
    random as a generated one (`make run`: secrets.token_hex(32)), so the hub checks it with one round."""
    # token_hex(16) is left out: 32 hex digits have fewer than 12 distinct ones in about 1.7 % of draws
    for token in (secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_urlsafe(24)):
        assert configured(service_token=token).JupyterHub.trust_user_provided_tokens is True
    for weak in ("svc-token-for-tests", "a" * 40, "password" * 5, secrets.token_hex(15), ""):
        assert configured(service_token=weak).JupyterHub.trust_user_provided_tokens is False
    kube = apply_kubernetes(
        Config(),
        HubSettings(mode="kubernetes", service_token=secrets.token_hex(32), is_root=False),
        ContainerSettings(),
        "6.1.1",
    )
    assert kube.JupyterHub.trust_user_provided_tokens is True


def test_jupyterhub_stores_a_trusted_token_with_one_round() -> None:
    """What the trait changes in JupyterHub itself (``_add_tokens`` passes it as ``generated``): the rounds
    in the stored hash, which every request that presents the token repeats."""
    from jupyterhub import orm

    db = orm.new_session_factory("sqlite:///:memory:")()
    service = orm.Service(name="giga-lms")
    db.add_all([service, orm.OAuthClient(identifier="jupyterhub")])  # the hub's own client, as at start
    db.commit()
    for generated, rounds in ((False, "16384"), (True, "1")):
        token = service.new_api_token(secrets.token_hex(32), generated=generated)
        found = orm.APIToken.find(db, token)
        assert found is not None and found.hashed.split(":")[1] == rounds
