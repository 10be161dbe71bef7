"""The signed manifest that binds a proof report to the audit ledger's head.

``manifest.json`` names the report files with their SHA-256, the policy (id, version, digest of
its source) and the ledger head (seq and MAC) at the time of the report, and carries an Ed25519
signature over all of that. The signing key is derived from troth's secret key (HKDF-SHA256), so
a deployment signs without keeping another secret, and its public key (in the manifest, with a
short id) lets anyone check the signature. :func:`verify_manifest` re-hashes the files, checks
the signature, and, given the state DB, that the ledger still holds that head: an edited file,
manifest or ledger fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.engine import Engine

MANIFEST = "manifest.json"
_INFO = b"troth prove: report signing key v1"


def signing_key(secret: bytes) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return Ed25519PrivateKey.from_private_bytes(seed)


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path, files: list[str], facts: dict[str, Any], secret: bytes) -> Path:
    """Sign ``files`` of ``folder`` (with ``facts``: policy, period, ledger head)."""
    key = signing_key(secret)
    public = key.public_key()
    body = {
        "troth_prove": 1,
        **facts,
        "files": {name: _sha256(folder / name) for name in sorted(files)},
        "public_key": base64.b64encode(_raw(public)).decode(),
        "key_id": key_id(public),
    }
    signature = key.sign(_canonical(body))
    path = folder / MANIFEST
    doc = {"manifest": body, "signature": base64.b64encode(signature).decode()}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")
    return path


def verify_manifest(
    folder: Path, *, secret: bytes | None = None, engine: Engine | None = None
) -> list[str]:
    """What does not verify (empty: the report is the one signed, over a ledger that still
    holds its head). ``secret``: also require this deployment's key; ``engine``: the state DB."""
    problems: list[str] = []
    try:
        doc = json.loads((folder / MANIFEST).read_text("utf-8"))
        body, signature = doc["manifest"], base64.b64decode(doc["signature"])
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST} cannot be read ({type(exc).__name__})"]
    try:
        public.verify(signature, _canonical(body))
    except InvalidSignature:
        problems.append(f"{MANIFEST}: the signature does not match its content")
    if secret is not None and key_id(signing_key(secret).public_key()) != body.get("key_id"):
        problems.append(f"{MANIFEST}: signed by another key than this deployment's")
    for name, digest in sorted(body.get("files", {}).items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(path) != digest:
            problems.append(f"{name}: changed since it was signed")
    if engine is not None:
        problems += _ledger_problems(engine, body.get("ledger_head") or {})
    return problems


def _ledger_problems(engine: Engine, head: dict[str, Any]) -> list[str]:
    import sqlalchemy as sa

    from troth.store import connect

    seq, mac = head.get("seq"), head.get("hash")
    if not isinstance(seq, int) or not seq:
        return []
    entry = sa.table("audit_entry", sa.column("seq"), sa.column("hash"))
    with connect(engine) as conn:
        found = conn.execute(sa.select(entry.c.hash).where(entry.c.seq == seq)).scalar()
    if found != mac:
        return [f"the audit ledger no longer holds entry {seq} as it was when the report was made"]
    from troth.audit.verify import verify

    result = verify(engine)
    if not result.ok:
        return [f"the audit ledger does not verify: {result.reason or 'tampered'}"]
    return []
