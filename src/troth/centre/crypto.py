"""Keys the centre derives from troth's secret key: encryption at rest and signed tokens.

Each use gets its own key (HKDF-SHA256 of the secret with a distinct label), so a contact cipher,
a code hash and a session cookie never share a key with each other or with the audit ledger.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from troth.errors import RequestError


def derive(secret: bytes, label: str) -> bytes:
    """A 32-byte key for *label*, derived from troth's secret key."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"troth centre " + label.encode()
    )
    return hkdf.derive(secret)


class Box:
    """Authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) under a derived key."""

    def __init__(self, secret: bytes, label: str = "contact") -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive(secret, label)))

    def seal(self, data: Any) -> str:
        text = json.dumps(data, separators=(",", ":"), sort_keys=True)
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, ValueError):
            raise RequestError(
                "stored centre data cannot be decrypted",
                where="troth state DB",
                fix="the secret key changed since the data was stored; restore TROTH_SECRET_KEY",
            ) from None

    def seal_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def open_bytes(self, data: bytes) -> bytes:
        try:
            return self._fernet.decrypt(data)
        except InvalidToken:
            raise RequestError(
                "a stored file cannot be decrypted",
                where="troth state",
                fix="the secret key changed since the file was stored; restore TROTH_SECRET_KEY",
            ) from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signed, expiring tokens (``<payload>.<tag>``) for cookies and links."""

    def __init__(self, secret: bytes, label: str) -> None:
        self._key = derive(secret, "sign " + label)

    def _tag(self, body: str) -> str:
        return _b64(hmac.digest(self._key, body.encode("ascii"), hashlib.sha256))

    def sign(self, data: dict[str, Any], ttl: float | None = None) -> str:
        payload = dict(data)
        if ttl is not None:
            payload["exp"] = int(time.time() + ttl)
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._tag(body)}"

    def read(self, token: str | None) -> dict[str, Any] | None:
        """The payload of a token this signer issued that has not expired, else ``None``."""
        if not token or token.count(".") != 1 or len(token) > 2000 or not token.isascii():
            return None
        body, tag = token.split(".")
        if not hmac.compare_digest(tag, self._tag(body)):
            return None
        try:
            data = json.loads(_unb64(body))
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        exp = data.get("exp")
        if exp is not None and (not isinstance(exp, int) or exp < time.time()):
            return None
        return data
