"""troth's own settings, read from the environment (no global mutable config).

``TROTH_HOME``          folder for troth's state (default ``./.troth``)
``TROTH_DATABASE_URL``  SQLAlchemy URL of troth's state DB (default SQLite file in ``TROTH_HOME``)
``TROTH_SECRET_KEY``    key for keyed hashes (hex or text); default: a random key created once in
                        ``TROTH_HOME/secret.key`` with mode 0600
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from troth.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    secret_key: bytes = field(repr=False)

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
        return cls(home=home, database_url=url, secret_key=key)


def _file_key(path: Path) -> bytes:
    try:
        if path.exists():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key
    except FileExistsError:  # another process created it first
        return path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read or create the secret key file ({exc.strerror})",
            where=str(path),
            fix="set TROTH_SECRET_KEY or make TROTH_HOME writable",
        ) from exc
