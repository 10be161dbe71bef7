"""The ledger's head anchored outside the state DB: a file in ``TROTH_HOME`` and an optional sink.

After every append batch commits, the new head (``seq`` and MAC) is written to the anchor file
(``TROTH_HOME/ledger-anchor``, or ``TROTH_LEDGER_ANCHOR``): a JSON object with one record per state
database, written atomically (temp file, fsync, rename) under an exclusive lock, and only ever moved
forward. Each record carries its own MAC under the ledger key, so an
edited record is told apart from a lagging one. ``troth audit verify`` checks the ledger against it
by default: a ledger that ends before its anchor was truncated (or emptied), one whose entry at the
anchored seq has another MAC was rewritten.

The optional sink (``TROTH_LEDGER_SINK``) gets a copy of each record: a webhook (``http(s)://``,
POST of the record as JSON) or an append-only file (one JSON line per record). It is best effort:
a failure is logged and the append stands.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from troth.audit.hashing import canonical_json, utc_timestamp
from troth.errors import AuditError

log = logging.getLogger("troth.audit")
FORMAT = "troth-ledger-anchor/1"
_FIX = "make the folder writable, or set TROTH_LEDGER_ANCHOR to a writable file path"


def database_id(url: str | sa.URL) -> str:
    """The state database as anchors name it: backend, host, port, database; no user or password.

    A SQLite path is made absolute, so a relative URL and an absolute one name the same file.
    """
    u = sa.make_url(url)
    backend = u.get_backend_name()
    database = u.database or ""
    in_file = database not in ("", ":memory:") and not database.startswith("file:")
    if backend == "sqlite" and in_file:
        database = str(Path(database).expanduser().resolve())
    u = sa.URL.create(backend, host=u.host, port=u.port, database=database)
    return u.render_as_string(hide_password=False)


@dataclass(frozen=True)
class Anchor:
    """One record of the anchor file: the head of the ledger of database *db*."""

    db: str
    seq: int
    hash: str
    key_id: str
    ts: str
    mac: str = ""

    def body(self) -> dict[str, Any]:
        return {"db": self.db, "seq": self.seq, "hash": self.hash, "key_id": self.key_id,
                "ts": self.ts}  # fmt: skip

    def signed(self, key: bytes) -> Anchor:
        mac = hmac.digest(key, b"anchor:" + canonical_json(self.body()).encode(), "sha256").hex()
        return Anchor(self.db, self.seq, self.hash, self.key_id, self.ts, mac)

    def valid(self, key: bytes) -> bool:
        return hmac.compare_digest(self.signed(key).mac, self.mac)

    def record(self) -> dict[str, Any]:
        return {**self.body(), "mac": self.mac}


def _parse(db: str, obj: Any) -> Anchor | None:
    try:
        seq, digest, kid, ts, mac = (obj[k] for k in ("seq", "hash", "key_id", "ts", "mac"))
    except (KeyError, TypeError):
        return None
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return None
    if not all(isinstance(v, str) for v in (digest, kid, ts, mac)):
        return None
    return Anchor(db, seq, digest, kid, ts, mac)


class AnchorFile:
    """The anchor file at *path*; records are MAC'd with the ledger *key*."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self.key = key

    def _load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise AuditError(
                f"cannot read the ledger anchor ({exc.strerror})", where=str(self.path), fix=_FIX
            ) from exc
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise AuditError(
                "the ledger anchor file is not an anchor file (edited or damaged)",
                where=str(self.path),
                fix="restore it from a backup or the anchor sink; run `troth audit verify`",
            )
        ledgers = obj.get("ledgers")
        return ledgers if isinstance(ledgers, dict) else {}

    def read(self, db: str) -> tuple[Anchor | None, str | None]:
        """The record of *db* and ``None``, or ``None`` and why the record cannot be trusted."""
        ledgers = self._load()
        if db not in ledgers:
            return None, None
        anchor = _parse(db, ledgers[db])
        if anchor is None:
            return None, f"the anchor record of this database in {self.path} is malformed (edited)"
        if not anchor.valid(self.key):
            return None, (
                f"the anchor record of this database in {self.path} fails its MAC (edited, or "
                "written with another TROTH_SECRET_KEY)"
            )
        return anchor, None

    def ensure_writable(self) -> None:
        """Create the anchor's folder and lock file, or raise :class:`AuditError` (so an append
        refuses before its first write when its anchor could not be written)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise AuditError(
                f"cannot open the ledger anchor lock ({exc.strerror})",
                where=f"{self.path}.lock",
                fix=_FIX,
            ) from exc

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive lock of the anchor file (``<path>.lock``) for the block."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuditError(
                f"cannot open the ledger anchor lock ({exc.strerror})",
                where=f"{self.path}.lock",
                fix=_FIX,
            ) from exc
        try:
            _flock(fd)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def advance(self, anchor: Anchor, *, force: bool = False) -> bool:
        """Record *anchor* unless the file already records this database at or past its seq
        (*force*: record it anyway, for ``troth audit anchor --reset``).

        Call it holding :meth:`locked`; returns whether the file was written.
        """
        try:
            ledgers = self._load()
        except AuditError:
            if not force:
                raise
            ledgers = {}  # a damaged file is replaced on a deliberate reset
        current = _parse(anchor.db, ledgers.get(anchor.db))
        if not force and current is not None and current.seq >= anchor.seq:
            return False
        ledgers[anchor.db] = anchor.signed(self.key).record()
        text = json.dumps({"format": FORMAT, "ledgers": ledgers}, indent=1, sort_keys=True)
        _atomic_write(self.path, text + "\n")
        return True


def _flock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: appends in one process stay ordered
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _atomic_write(path: Path, text: str) -> None:
    """Write *text* to a temp file beside *path*, fsync it, rename it over *path*.

    The folder is not fsynced: after a power loss the rename may be lost and the anchor be the
    previous one, which is only a weaker anchor (the ledger's last batches are then not covered).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Sink:
    """The external copy of each anchor: a webhook URL or an append-only file path."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.is_url = target.startswith(("http://", "https://"))

    def where(self) -> str:
        """The target without credentials, query or path (for log lines)."""
        if not self.is_url:
            return self.target
        parts = urllib.parse.urlsplit(self.target)
        return f"{parts.scheme}://{parts.hostname or ''}"

    def send(self, record: dict[str, Any]) -> None:
        """Deliver *record*; a failure is logged (``troth.audit``), never raised."""
        body = json.dumps(record, sort_keys=True)
        try:
            if self.is_url:
                self._post(body)
            else:
                self._append(body)
        except Exception as exc:  # best effort by design: the local anchor is written already
            log.warning(
                "ledger anchor sink %s failed (%s); the local anchor is written",
                self.where(),
                type(exc).__name__,
            )

    def _post(self, body: str) -> None:
        req = urllib.request.Request(
            self.target,
            data=body.encode(),
            headers={"Content-Type": "application/json", "User-Agent": "troth-ledger-anchor"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            resp.read()

    def _append(self, body: str) -> None:
        fd = os.open(self.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fh: IO[str]
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(body + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def new_anchor(db: str, seq: int, digest: str, kid: str) -> Anchor:
    return Anchor(db, seq, digest, kid, utc_timestamp())
