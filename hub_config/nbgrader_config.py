"""Global nbgrader configuration: the exchange, the hub auth plugin, the autograde sandbox and the LMS export.

Install it where every nbgrader process finds it, ``{sys.prefix}/etc/jupyter/nbgrader_config.py``, either as a
copy of this file or as the two lines::

    from hub_config.nbgrader_config import configure_nbgrader, settings_from_env
    configure_nbgrader(c, **settings_from_env())

When nbgrader loads this file itself, the block at the bottom does exactly that. ``configure_nbgrader`` only
sets traits, so it is tested with a plain ``traitlets.config.Config()``.

Environment (all optional): ``GIGA_NBGRADER_EXCHANGE`` (exchange root, default ``/srv/nbgrader/exchange``),
``GIGA_LMS_URL``, ``GIGA_AUTOGRADE_SANDBOX`` (``0`` turns the sandbox off — development only: student code
then runs as the grader), ``GIGA_AUTOGRADE_POOL`` (parallel sandbox users, default 4),
``GIGA_AUTOGRADE_CELL_TIMEOUT`` (seconds per cell, default 30), ``GIGA_AUTOGRADE_MEMORY_MB`` (default 1024),
``GIGA_NBGRADER_STUDENT_IS_HUB_USER`` (``1``: the student id is ``JUPYTERHUB_USER``, not the unix account —
the hub's test mode runs every server as one account, and nbgrader would file every submission under it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

JAPANESE_CODE_STUB = "# ここにコードを書こう\nraise NotImplementedError()"
JAPANESE_TEXT_STUB = "ここに答えを書こう"


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for :func:`configure_nbgrader` from ``GIGA_*`` environment variables."""
    env = os.environ if environ is None else environ
    return {
        "exchange_root": env.get("GIGA_NBGRADER_EXCHANGE", "/srv/nbgrader/exchange"),
        "lms_url": env.get("GIGA_LMS_URL", "http://127.0.0.1:8000"),
        "sandbox": env.get("GIGA_AUTOGRADE_SANDBOX", "1") != "0",
        "sandbox_pool": int(env.get("GIGA_AUTOGRADE_POOL", "4")),
        "cell_timeout": int(env.get("GIGA_AUTOGRADE_CELL_TIMEOUT", "30")),
        "memory_mb": int(env.get("GIGA_AUTOGRADE_MEMORY_MB", "1024")),
        "student_id": (
            env.get("JUPYTERHUB_USER", "") if env.get("GIGA_NBGRADER_STUDENT_IS_HUB_USER") == "1" else ""
        ),
    }


def configure_nbgrader(
    c: Any,
    *,
    exchange_root: str = "/srv/nbgrader/exchange",
    lms_url: str = "http://127.0.0.1:8000",
    sandbox: bool = True,
    sandbox_pool: int = 4,
    cell_timeout: int = 30,
    memory_mb: int = 1024,
    student_id: str = "",
) -> None:
    """Set the platform's nbgrader traits on ``c`` (a traitlets Config); nothing else happens."""
    # exchange shared by all courses on this machine (mode 1777), one folder per course
    c.Exchange.root = exchange_root
    c.Exchange.path_includes_course = True
    # submissions readable by the course's grader group only (stock: world-readable files in a 0777 folder)
    c.ExchangeFactory.submit = "hub_config.secure_exchange.PrivateExchangeSubmit"
    # collect (as the grader) never follows a link a student left in inbound
    c.ExchangeFactory.collect = "hub_config.secure_exchange.LinkSafeExchangeCollect"
    # students and courses come from the hub's groups (nbgrader-<course>, formgrade-<course>)
    c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
    if student_id:  # submit/fetch_feedback file the work under this name (stock: the unix account's)
        c.CourseDirectory.student_id = student_id
    # grades go to the LMS: `nbgrader export` posts them (GIGA_LMS_GRADES_TOKEN holds the token)
    c.ExportApp.plugin_class = "hub_config.lms_export.LmsExportPlugin"
    c.LmsExportPlugin.lms_url = lms_url
    # students' Assignments list shows submission times in JST (hub_config/local_time.py says why the exchange
    # keeps recording UTC: Exchange.timezone would break nbgrader's own parsing of the recorded times)
    c.ExchangeFactory.list = "hub_config.local_time.JapanTimeExchangeList"
    # the formgrader shows times in JST (the gradebook and the exchange keep recording UTC)
    c.NbGraderAPI.timezone = "Asia/Tokyo"
    c.NbGraderAPI.timestamp_format = "%Y-%m-%d %H:%M"
    # late work is flagged, not penalised: the score stays, the LMS says 「期限後の提出」
    c.LateSubmissionPlugin.penalty_method = "none"
    # student versions speak Japanese
    c.ClearSolutions.code_stub = {"python": JAPANESE_CODE_STUB}
    c.ClearSolutions.text_stub = JAPANESE_TEXT_STUB
    # feedback: no hidden tests (nor tracebacks quoting them), Japanese hints for 全角 mistakes
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from hub_config.feedback import feedback_preprocessors

    c.GenerateFeedback.preprocessors = feedback_preprocessors([GetGrades, CSSHTMLHeaderPreprocessor])
    # autograding: student code runs in the sandbox, never as the grader
    c.Execute.timeout = cell_timeout
    c.Execute.interrupt_on_timeout = True
    if sandbox:
        from hub_config.sandbox import refuse_symlinked_files, sandboxed_autograde_preprocessors

        c.Autograde.autograde_preprocessors = sandboxed_autograde_preprocessors()
        refuse_symlinked_files()
        c.SandboxedExecute.pool_size = sandbox_pool
        c.SandboxedExecute.memory_bytes = memory_mb << 20


if "get_config" in globals():  # loaded by nbgrader/traitlets as a config file
    configure_nbgrader(get_config(), **settings_from_env())  # type: ignore[name-defined]  # noqa: F821
