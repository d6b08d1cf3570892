"""A started worker freezes what start-up loaded and collects the youngest generation less often."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]


def test_app_start_freezes_startup_objects_once(tmp_path: Path) -> None:
    # A fresh interpreter: the test process may already have settled its collector in another test.
    script = textwrap.dedent(
        f"""
        import gc
        from fastapi.testclient import TestClient
        from lms.core.settings import load_settings
        from lms.main import create_app
        from lms.ops.gc_tuning import YOUNGEST_THRESHOLD, settle_after_startup

        assert gc.get_freeze_count() == 0 and gc.get_threshold()[0] == 700
        settings = load_settings(database_url="sqlite:///{tmp_path / "giga.db"}", environment="test",
                                 check_schema_on_startup=False)
        with TestClient(create_app(settings)) as client:
            assert client.get("/healthz").status_code == 200
        frozen = gc.get_freeze_count()
        assert frozen > 10_000, frozen  # modules and start-up state, out of the collector's way
        assert gc.get_threshold()[0] == YOUNGEST_THRESHOLD
        made_since = [[n] for n in range(20_000)]  # lists: always tracked by the collector
        assert settle_after_startup() is False  # once per process: what was made since stays collectable
        # (frozen objects may still be freed meanwhile, e.g. by a finishing thread: the count may go down)
        assert gc.get_freeze_count() < frozen + len(made_since)
        junk = []
        junk.append(junk)  # cyclic garbage is still collected
        del junk
        assert gc.collect() >= 1
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
