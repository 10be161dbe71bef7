"""troth's private spool: where an access export keeps the person's rows until the zip is written.

Never the system temp directory. :func:`spool_dir` is ``TROTH_HOME/spool``, mode 0700, owned by
the user troth runs as. Each export gets one run directory in it (``export-*``, 0700) holding:

- its spool files: each is held in memory up to 256 KB (a typical person's table), then
  opened *without a name* (``O_TMPFILE``, or created and unlinked at once where the file
  system lacks it): the kernel frees them when the process ends, however it ends, SIGKILL
  included;
- a lock file the run holds (``flock``) while it lives, so that a sweep never touches a live run;
- the archive while it is being written (a named file, moved to its destination when complete).

:meth:`Spool.remove` deletes the run directory; :class:`~troth.dsr.export.ZipExport` calls it on
every exit path (finish, abort, an exception) and a finaliser calls it when the object is garbage
collected or the interpreter exits. What a killed process leaves (the run directory, perhaps a
partial archive) stays under the private spool, and :func:`sweep_spools`, called when an access
run starts, removes it.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
import weakref
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import IO

from troth.config import Settings
from troth.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows: the sweep goes by age alone)
    fcntl = None  # type: ignore[assignment]

SPOOL = "spool"
PREFIX = "export-"
LOCK = ".lock"
#: a run directory younger than this is never swept (it may be between creation and its lock)
SWEEP_AFTER = timedelta(minutes=10)
#: a spool file stays in memory up to this size, then moves to a file in the run directory
IN_MEMORY = 256 * 1024


def spool_dir(settings: Settings) -> Path:
    """``TROTH_HOME/spool``, created with mode 0700 (and set back to 0700 if it was wider)."""
    return private_dir(settings.home / SPOOL)


def private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can enter; refuses a symlink or another owner's."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode):
            raise ConfigError(
                "the spool directory is not a directory (a link or a file)",
                where=str(path),
                fix="remove it; troth creates the directory itself",
            )
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            raise ConfigError(
                "the spool directory belongs to another user",
                where=str(path),
                fix="run troth as the owner of TROTH_HOME, or remove the directory",
            )
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(path, 0o700)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the spool directory ({exc.strerror})",
            where=str(path),
            fix="make TROTH_HOME writable by the user troth runs as",
        ) from exc
    return path


def sweep_spools(root: Path, older_than: timedelta = SWEEP_AFTER) -> int:
    """Remove run directories of exports that are no longer running; returns how many.

    A run directory is removed when no live process holds its lock (its export was killed, or
    ended without cleaning up) and it is older than ``older_than``. Only ``export-*`` entries
    directly under ``root`` are considered; nothing outside ``root`` is touched.
    """
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for entry in root.iterdir():
        if not entry.name.startswith(PREFIX):
            continue
        try:
            st = os.lstat(entry)
        except FileNotFoundError:
            continue
        if st.st_mtime > cutoff:
            continue
        if stat.S_ISDIR(st.st_mode):
            if _locked(entry):
                continue
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def _locked(run: Path) -> bool:
    """True while a live process holds the run's lock."""
    if fcntl is None:  # pragma: no cover
        return False
    try:
        fd = os.open(run / LOCK, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock taken just now
    return False


class Spool:
    """One export's run directory under the private spool root (see the module doc)."""

    def __init__(self, root: Path) -> None:
        private_dir(root)
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))  # 0700
        self._files: list[IO[bytes]] = []
        lock = open(self.dir / LOCK, "wb")  # noqa: SIM115 (held until remove())
        self._files.append(lock)
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._finalizer = weakref.finalize(self, _remove, self.dir, self._files)

    def file(self) -> IO[bytes]:
        """A new spool file without a name, opened for writing and reading: in memory up to
        :data:`IN_MEMORY` bytes (a typical person's table), then a file in the run directory."""
        fh = tempfile.SpooledTemporaryFile(IN_MEMORY, dir=str(self.dir))  # noqa: SIM115 (remove())
        self._files.append(fh)
        return fh

    def path(self, name: str) -> Path:
        """A named file in the run directory (removed with it)."""
        return self.dir / name

    @property
    def alive(self) -> bool:
        return self._finalizer.alive

    def remove(self) -> None:
        """Close every spool file and delete the run directory (idempotent)."""
        self._finalizer()


def _remove(run: Path, files: list[IO[bytes]]) -> None:
    for fh in files:
        with suppress(OSError):
            fh.close()
    files.clear()
    shutil.rmtree(run, ignore_errors=True)
