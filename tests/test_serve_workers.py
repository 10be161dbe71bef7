"""``troth serve --workers N``: uvicorn worker processes build the app from the environment, the
serving process alone runs the embedded jobs, and SQLite state refuses more than one worker."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import free_port, troth_command
from troth.cli import main
from troth.cli import serve as serve_cli
from troth.web.app import SERVE_ENV, app_from_env

ROOT = Path(__file__).resolve().parent.parent
MD = ROOT / "examples" / "mydigisoft"
KEY = "serve-workers-secret-0123456789abcdef"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The serve command writes what its workers serve into os.environ (for the CLI process that
    is the point); the test puts the environment back as it was, for the tests after it."""
    saved = dict(os.environ)
    values = {"TROTH_HOME": str(tmp_path), "TROTH_SECRET_KEY": KEY}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("TROTH_DATABASE_URL", "TROTH_QUEUE_URL", "TROTH_SERVE_URL", *SERVE_ENV.values()):
        monkeypatch.delenv(name, raising=False)
    yield values
    os.environ.clear()
    os.environ.update(saved)


def test_sqlite_state_refuses_several_workers_before_starting(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append(a))
    assert main(["serve", str(MD), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "--workers" in err
    assert "SQLite" in err
    assert "Traceback" not in err
    assert started == []


def test_several_workers_import_the_factory_and_this_process_runs_the_jobs(
    env: dict[str, str], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    jobs: list[Path] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(serve_cli, "_embedded_jobs", lambda path, settings: jobs.append(path))
    origin = "https://shop.example.com"
    argv = ["serve", str(MD), "--db", pg_url, "--workers", "3", "--allow-origin", origin]
    assert main([*argv, "--trusted-proxy", "127.0.0.1"]) == 0
    ((args, kwargs),) = calls
    assert args == (serve_cli.APP_FACTORY,)
    assert (kwargs["factory"], kwargs["workers"]) == (True, 3)
    assert jobs == [MD]  # once, in the supervisor; the workers only build the app
    # what each worker builds: the same project, state, origins and proxies
    assert os.environ["TROTH_DATABASE_URL"] == pg_url
    app = app_from_env()
    services = app.state.services
    assert str(services.engine.url.render_as_string(hide_password=False)) == pg_url
    assert services.allowed_origins == frozenset({origin})
    services.engine.dispose()


def test_app_factory_without_a_project_is_a_one_line_error(env: dict[str, str]) -> None:
    from troth.errors import ConfigError

    with pytest.raises(ConfigError, match="no project to serve"):
        app_from_env()


def test_two_worker_processes_serve_the_centre_on_postgresql(
    env: dict[str, str], pg_url: str
) -> None:
    port = free_port()
    cmd = [troth_command(), "serve", str(MD), "--port", str(port), "--db", pg_url]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2"], env={**os.environ, **env}, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        with httpx.Client(base_url=base) as c:
            pages = [c.get(p) for p in ("/privacy", "/privacy/request", "/privacy") * 4]
        assert {p.status_code for p in pages} == {200}
        assert all("troth_csrf=" in p.headers.get("set-cookie", "") for p in pages[:1])
    finally:
        proc.terminate()
        proc.wait(30)
