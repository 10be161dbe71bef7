"""troth's own settings, read from the environment (no global mutable config).

``TROTH_HOME``          folder for troth's state (default ``./.troth``)
``TROTH_DATABASE_URL``  SQLAlchemy URL of troth's state DB (default SQLite file in ``TROTH_HOME``)
``TROTH_SECRET_KEY``    key for keyed hashes (hex or text); default: a random key created once in
                        ``TROTH_HOME/secret.key`` with mode 0600. The audit ledger's MAC key is
                        derived from it (:func:`troth.audit.hashing.ledger_key`)
``TROTH_LEDGER_ANCHOR`` file where every append batch anchors the ledger's head, outside the state
                        DB (default ``TROTH_HOME/ledger-anchor``)
``TROTH_LEDGER_SINK``   optional external copy of each anchor: an ``http(s)://`` webhook (POST of
                        the anchor as JSON) or a file path (one JSON line appended per anchor)
``TROTH_CONSENT_MAX_FUTURE_SECONDS``  how far in the future a consent event may be dated (clock
                        skew; default 300)
``TROTH_CONSENT_MAX_PAST_DAYS``  how far in the past (default 3650; raise it to import older events)
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from troth.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    secret_key: bytes = field(repr=False)
    #: the ledger anchor file; ``None``: ``home / "ledger-anchor"``
    anchor_file: Path | None = None
    #: external anchor sink (webhook URL or file path), or ``None``
    ledger_sink: str | None = None

    @property
    def ledger_anchor(self) -> Path:
        return self.anchor_file if self.anchor_file is not None else self.home / "ledger-anchor"

    def with_database(self, url: str) -> Settings:
        """The same settings with another state database URL."""
        return replace(self, database_url=url)

    consent_max_future: timedelta = timedelta(seconds=300)
    consent_max_past: timedelta = timedelta(days=3650)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("TROTH_HOME") or ".troth").expanduser()
        url = env.get("TROTH_DATABASE_URL") or f"sqlite:///{home / 'troth.db'}"
        key_text = env.get("TROTH_SECRET_KEY")
        key = key_text.encode() if key_text else _file_key(home / "secret.key")
        if len(key) < 16:
            raise ConfigError(
                "TROTH_SECRET_KEY is shorter than 16 bytes",
                where="environment",
                fix="set it to at least 32 random characters, e.g. `openssl rand -hex 32`",
            )
        anchor = env.get("TROTH_LEDGER_ANCHOR")
        future = _whole_number(env, "TROTH_CONSENT_MAX_FUTURE_SECONDS", 300)
        past = _whole_number(env, "TROTH_CONSENT_MAX_PAST_DAYS", 3650)
        return cls(
            home=home,
            database_url=url,
            secret_key=key,
            anchor_file=Path(anchor).expanduser() if anchor else None,
            ledger_sink=env.get("TROTH_LEDGER_SINK") or None,
            consent_max_future=timedelta(seconds=future),
            consent_max_past=timedelta(days=past),
        )


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    if not re.fullmatch(r"[0-9]{1,7}", text.strip()) or int(text) > 10**6:
        raise ConfigError(
            f"{name} is not a whole number up to 1000000",
            where="environment",
            fix=f"set {name} to e.g. {default}",
        )
    return int(text)


def _file_key(path: Path) -> bytes:
    """The key in ``path``, created once (mode 0600) when missing. Created whole or not at all:
    written to a temporary file first and linked into place, so a process that starts at the
    same moment never reads a half-written (empty) key."""
    try:
        if path.exists():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)  # fails when another process linked its key first
        finally:
            tmp.unlink(missing_ok=True)
        return key
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read or create the secret key file ({exc.strerror})",
            where=str(path),
            fix="set TROTH_SECRET_KEY or make TROTH_HOME writable",
        ) from exc
