"""An erasure killed between stores resumes: SQL, Redis and a file set, each done once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from troth.config import Settings
from troth.dsr import Identity, erase, status
from troth.dsr.execute import CRASH_ENV

from .test_files import FILESET, file_hashes
from .test_files import project as files_project  # noqa: F401  (fixture)
from .test_redis import KEYSTORE, snapshot

ROOT = Path(__file__).resolve().parents[2]


def test_killed_after_redis_resumes_with_the_files(
    files_project: tuple[Path, Path, str, str],  # noqa: F811
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redis
    import yaml

    folder, lake, ada, _bob = files_project
    datamap = yaml.safe_load((folder / "datamap.yaml").read_text())
    datamap["keystores"] = [KEYSTORE]
    assert datamap["filesets"] == [FILESET]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    monkeypatch.setenv("TROTH_CONN_PLUS_CACHE", redis_url)
    client = redis.Redis.from_url(redis_url)
    client.set(f"session:{ada}:s1", "x")
    client.set("session:other@example.com:s1", "y")
    client.close()
    files_before = file_hashes(lake)

    code = textwrap.dedent(f"""
        from troth.dsr import Identity, erase
        erase({str(folder)!r}, [Identity("email", {ada!r})])
    """)
    env = {**os.environ, CRASH_ENV: "store:2", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    # killed after the SQL store (1) and Redis (2): keys gone, files not yet rewritten
    assert set(snapshot(redis_url)) == {b"session:other@example.com:s1"}
    assert file_hashes(lake) == files_before
    (info,) = status(settings=Settings.from_env())
    assert info.status == "running"

    again = erase(folder, [Identity("email", ada)])
    assert again.status == "completed"
    assert again.request is not None
    assert again.request.id == info.id
    tables = {t["table"]: t["rows"] for t in again.tables}
    assert tables["cache.sessions"] == 1  # as recorded by the killed run, not done twice
    assert tables["lake.orders"] == 1
    assert file_hashes(lake) != files_before
