"""Shared pieces of the Art. 19 notice tests: a Plus project whose recipients declare channels,
a mailbox for the SMTP server, and a local HTTP receiver for webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.store import open_store

ROOT = Path(__file__).resolve().parents[2]
PLUS = ROOT / "examples" / "plus"


def plus_project(
    tmp_path: Path,
    notify: dict[str, dict[str, Any]],
    services: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> Path:
    """A copy of the Plus example whose recipients declare the *notify* channels given."""
    folder = tmp_path / "plus"
    folder.mkdir(exist_ok=True)
    policy = yaml.safe_load((PLUS / "policy.yaml").read_text())
    for r in policy["recipients"]:
        if r["id"] in notify:
            r["notify"] = notify[r["id"]]
            if r["notify"] is None:  # no channel declared
                del r["notify"]
    (folder / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    datamap = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    if services:
        datamap["services"] = list(services)
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    return folder


def demo_rows(tmp_path: Path, n: int = 2) -> tuple[str, list[dict[str, Any]]]:
    """The Plus demo database (its URL) and its first *n* CRM contacts."""
    data_url = f"sqlite:///{tmp_path / 'plus.db'}"
    if not (tmp_path / "plus.db").exists():
        create_demo_db(data_url, "plus", customers=10)
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        rows = [
            dict(r._mapping)
            for r in c.execute(sa.text(f"SELECT * FROM crm_contacts ORDER BY id LIMIT {n}"))
        ]
    engine.dispose()
    return data_url, rows


def state() -> sa.Engine:
    return open_store(Settings.from_env())


def ledger(kind: str) -> list[dict[str, Any]]:
    with state().connect() as c:
        texts = c.execute(
            sa.text("SELECT data FROM audit_entry WHERE kind = :k ORDER BY seq"), {"k": kind}
        ).scalars()
        return [json.loads(t) for t in texts]


@dataclass
class Receiver:
    """A local HTTP server: answers the statuses in ``fail`` first, then 200; logs each POST."""

    url: str = ""
    fail: list[int] = field(default_factory=list)
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def receiver() -> Iterator[Receiver]:
    got = Receiver()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.posts.append((dict(self.headers.items()), body))
            status = got.fail.pop(0) if got.fail else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    got.url = f"http://127.0.0.1:{server.server_address[1]}/troth/notices"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
