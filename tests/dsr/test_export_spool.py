"""The export spool (issue 9, point 5): the person's rows stay in troth's private 0700 directory,
never the system temp directory, and are removed on every exit path; a start-up sweep removes what
a killed run left."""

from __future__ import annotations

import errno
import gc
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from troth.config import Settings
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap
from troth.dsr.export import ZipExport
from troth.dsr.spool import spool_dir, sweep_spools
from troth.errors import ConfigError, RequestError
from troth.policy.loader import load_policy

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "mydigisoft"
MARKER = "spool-marker-555-0199@example.com"
T = TableId("app", "people")


def _runs(root: Path) -> list[Path]:
    return (
        sorted(p for p in root.iterdir() if p.name.startswith("export-")) if root.exists() else []
    )


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def _export(tmp_path: Path, root: Path, out: Path | None = None) -> ZipExport:
    return ZipExport(
        out or tmp_path / "out" / "copy.zip",
        request_id="req-1",
        policy=load_policy(POLICY).policy,
        datamap=DataMap(),
        types={T: {"id": "integer", "email": "varchar(255)"}},
        spool_root=root,
    )


@pytest.fixture
def systmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The system temp directory, for this test: it must stay empty."""
    path = tmp_path / "systmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    monkeypatch.setenv("TMPDIR", str(path))
    yield path
    assert _files(path) == []


def test_spool_dir_is_created_0700_under_troth_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url="sqlite://", secret_key=b"k" * 32)
    root = spool_dir(settings)
    assert root == tmp_path / "home" / "spool"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    os.chmod(root, 0o755)  # widened by hand: set back
    spool_dir(settings)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_spool_dir_refuses_a_symlink(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (home / "spool").symlink_to(tmp_path / "elsewhere")
    settings = Settings(home=home, database_url="sqlite://", secret_key=b"k" * 32)
    with pytest.raises(ConfigError, match="not a directory"):
        spool_dir(settings)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_spool_dir_refuses_another_users_directory(tmp_path: Path) -> None:
    (tmp_path / "home" / "spool").mkdir(parents=True, mode=0o700)
    os.chown(tmp_path / "home" / "spool", 65534, -1)
    settings = Settings(home=tmp_path / "home", database_url="sqlite://", secret_key=b"k" * 32)
    with pytest.raises(ConfigError, match="belongs to another user"):
        spool_dir(settings)


def test_rows_are_spooled_only_under_the_private_root(tmp_path: Path, systmp: Path) -> None:
    root = tmp_path / "home" / "spool"
    export = _export(tmp_path, root)
    for i in range(200):
        export.add(T, {"id": i, "email": MARKER})
    (run,) = _runs(root)
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    # the spool files have no name: nothing holding the rows can be found by listing
    assert [p.name for p in _files(run)] == [".lock"]
    out = export.finish()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert _runs(root) == []


def test_an_archive_on_another_file_system_is_copied_then_renamed(
    tmp_path: Path, systmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "spool"
    out = tmp_path / "elsewhere" / "copy.zip"
    real_replace = os.replace

    def cross_device(src: str | Path, dst: str | Path) -> None:
        if Path(src).name == "archive.zip":
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr("troth.dsr.export.os.replace", cross_device)
    export = _export(tmp_path, root, out=out)
    export.add(T, {"id": 1, "email": MARKER})
    assert export.finish() == out
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["copy.zip"]  # no .part left
    assert _runs(root) == []


def test_abort_removes_the_spool(tmp_path: Path, systmp: Path) -> None:
    root = tmp_path / "spool"
    export = _export(tmp_path, root)
    export.add(T, {"id": 1, "email": MARKER})
    export.abort()
    assert _runs(root) == []
    export.abort()  # idempotent
    with pytest.raises(RuntimeError):
        export.add(T, {"id": 2, "email": MARKER})


def test_a_failed_finish_removes_the_spool_and_says_why(tmp_path: Path, systmp: Path) -> None:
    root = tmp_path / "spool"
    (tmp_path / "a-file").write_text("")
    export = _export(tmp_path, root, out=tmp_path / "a-file" / "copy.zip")
    export.add(T, {"id": 1, "email": MARKER})
    with pytest.raises(RequestError, match="cannot write the access export") as info:
        export.finish()
    assert MARKER not in info.value.one_line()
    assert _runs(root) == []


def test_an_exception_in_a_with_block_removes_the_spool(tmp_path: Path, systmp: Path) -> None:
    root = tmp_path / "spool"

    def fail() -> None:
        with _export(tmp_path, root) as export:
            export.add(T, {"id": 1, "email": MARKER})
            raise KeyError("boom")

    with pytest.raises(KeyError):
        fail()
    assert _runs(root) == []


def test_garbage_collection_removes_the_spool(tmp_path: Path, systmp: Path) -> None:
    root = tmp_path / "spool"
    export = _export(tmp_path, root)
    export.add(T, {"id": 1, "email": MARKER})
    assert len(_runs(root)) == 1
    del export
    gc.collect()
    assert _runs(root) == []


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from troth.datamap.graph import TableId
    from troth.datamap.model import DataMap
    from troth.dsr.export import ZipExport
    from troth.policy.loader import load_policy

    root, out, where, marker = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]

    def wait(*args, **kwargs):
        print("ready", flush=True)
        time.sleep(600)

    if where == "finish":  # killed while the archive is half written
        ZipExport._summary = wait
    export = ZipExport(out, request_id="r", policy=load_policy(sys.argv[5]).policy,
                       datamap=DataMap(), types={}, spool_root=root)
    for i in range(5000):
        export.add(TableId("app", "people"), {"id": i, "email": marker})
    if where == "rows":
        wait()
    export.finish()
    """
)


def _start(tmp_path: Path, root: Path, where: str, systmp: Path) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = tmp_path / "out" / "copy.zip"
    env = {**os.environ, "TMPDIR": str(systmp)}
    args = [sys.executable, str(script), str(root), str(out), where, MARKER, str(POLICY)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.stdout is not None
    proc.stdout.close()


@pytest.mark.parametrize("where", ["rows", "finish"])
def test_a_killed_export_leaves_files_only_under_the_private_root_and_the_sweep_removes_them(
    tmp_path: Path, systmp: Path, where: str
) -> None:
    root = tmp_path / "home" / "spool"
    _kill(_start(tmp_path, root, where, systmp))
    # nothing in the system temp directory (checked by the fixture), nothing at the destination
    assert not (tmp_path / "out" / "copy.zip").exists()
    (run,) = _runs(root)
    left = _files(run)
    if where == "finish":  # the half-written archive, inside the private run directory
        assert "archive.zip" in [p.name for p in left]
    else:  # the spooled rows had no name: the kernel freed them with the process
        assert [p.name for p in left] == [".lock"]
        assert not [p for p in left if MARKER.encode() in p.read_bytes()]
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert sweep_spools(root, older_than=timedelta(0)) == 1
    assert _runs(root) == []
    assert _files(root) == []


def test_the_sweep_keeps_a_running_export_and_young_leftovers(tmp_path: Path, systmp: Path) -> None:
    root = tmp_path / "home" / "spool"
    proc = _start(tmp_path, root, "rows", systmp)
    try:
        assert sweep_spools(root, older_than=timedelta(0)) == 0  # its owner is alive
        assert len(_runs(root)) == 1
    finally:
        _kill(proc)
    assert sweep_spools(root) == 0  # dead, but younger than the default age
    assert sweep_spools(root, older_than=timedelta(0)) == 1
    assert _runs(root) == []


def test_the_sweep_touches_nothing_but_run_directories(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir()
    (root / "keep.txt").write_text("not ours")
    assert sweep_spools(root, older_than=timedelta(0)) == 0
    assert (root / "keep.txt").exists()
    assert sweep_spools(tmp_path / "missing") == 0
