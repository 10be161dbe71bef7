"""The hand-written baseline of bench_dsr.py: plain SQL text, as a person would write it.

Bounded the way troth bounds itself: the same rows (the e-mail compared in its normal form,
``lower(trim(email))``, for the shop; the stored form and the tenant for members), the same
effects (the same masks: pgcrypto's ``hmac`` gives troth's keyed hash; checked by hashing the
rows, see bench_dsr.verify), children before parents, each erasure in one transaction. Nothing
points at the rows either side deletes (addresses, member events), so neither needs a
"not referenced" test.

Three ways to run it, one per troth entry point it is paired with:

- in process on a warm psycopg connection (paired with troth's engine and its Python API);
- in process writing the rows as JSON and CSV into a zip (paired with the API's access, which
  writes its export);
- ``psql -f`` as a whole process (paired with the ``troth dsr`` CLI process).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import psycopg

REDACTED = "'[redacted]'"

ACCESS = {
    "shop": [
        ("customers", "SELECT * FROM customers WHERE lower(trim(email)) = {e}"),
        (
            "addresses",
            "SELECT a.* FROM addresses a JOIN customers c ON c.id = a.customer_id "
            "WHERE lower(trim(c.email)) = {e}",
        ),
        (
            "orders",
            "SELECT o.* FROM orders o JOIN customers c ON c.id = o.customer_id "
            "WHERE lower(trim(c.email)) = {e}",
        ),
        (
            "order_items",
            "SELECT i.* FROM order_items i JOIN orders o ON o.id = i.order_id "
            "JOIN customers c ON c.id = o.customer_id WHERE lower(trim(c.email)) = {e}",
        ),
    ],
    "members": [
        ("members", "SELECT * FROM members WHERE tenant_id = {t} AND email = {e}"),
        (
            "member_events",
            "SELECT ev.* FROM member_events ev JOIN members m ON m.id = ev.member_id "
            "WHERE m.tenant_id = {t} AND m.email = {e} AND ev.tenant_id = {t}",
        ),
    ],
}

ERASE = {
    "shop": [
        "UPDATE order_items SET gift_message = " + REDACTED + " WHERE order_id IN ("
        "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE lower(trim(c.email)) = {e})",
        "UPDATE orders SET note = " + REDACTED + " WHERE customer_id IN ("
        "SELECT id FROM customers WHERE lower(trim(email)) = {e})",
        "DELETE FROM addresses WHERE customer_id IN ("
        "SELECT id FROM customers WHERE lower(trim(email)) = {e})",
        "UPDATE customers SET email = encode(hmac(email, {key}, 'sha256'), 'hex'), "
        "first_name = " + REDACTED + ", last_name = " + REDACTED + ", phone = NULL "
        "WHERE lower(trim(email)) = {e}",
    ],
    "members": [
        "DELETE FROM member_events WHERE tenant_id = {t} AND member_id IN ("
        "SELECT id FROM members WHERE tenant_id = {t} AND email = {e})",
        "UPDATE members SET email = encode(hmac(email, {key}, 'sha256'), 'hex'), "
        "display_name = " + REDACTED + " WHERE tenant_id = {t} AND email = {e}",
    ],
}


def _params(sql: str) -> str:
    return sql.format(e="%(e)s", t="%(t)s", key="%(key)s")


def _literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _psql_text(sql: str, args: dict[str, Any]) -> str:
    return sql.format(**{k: _literal(v) for k, v in args.items()})


class Hand:
    """The baseline on one warm psycopg connection (autocommit; erasures in a transaction)."""

    def __init__(self, dsn: str, key: bytes) -> None:
        self.dsn = dsn
        self.key = key.decode()
        self.conn = psycopg.connect(dsn, autocommit=True)

    def _args(self, email: str, tenant: int | None) -> dict[str, Any]:
        return {"e": email.strip().lower(), "t": tenant, "key": self.key}

    def access(self, part: str, email: str, tenant: int | None = None) -> dict[str, Any]:
        """Every row of the person by table: the column names and the driver's tuples."""
        out: dict[str, Any] = {}
        args = self._args(email, tenant)
        for table, sql in ACCESS[part]:
            cur = self.conn.execute(_params(sql), args)
            names = [d.name for d in cur.description or ()]
            out[table] = (names, cur.fetchall())
        return out

    def access_rows(self, part: str, email: str, tenant: int | None = None) -> int:
        """The rows as the driver's tuples (what troth's engine hands its sink)."""
        return sum(len(rows) for _, rows in self.access(part, email, tenant).values())

    def access_export(self, part: str, email: str, path: Path, tenant: int | None = None) -> int:
        """The rows written as a zip of JSON and CSV per table (what the API's access writes,
        without the HTML page and the Art. 15 information)."""
        found = self.access(part, email, tenant)
        total = 0
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for table, (names, rows) in found.items():
                if not rows:
                    continue
                total += len(rows)
                dicts = [dict(zip(names, r, strict=True)) for r in rows]
                zf.writestr(
                    f"json/{table}.json", json.dumps(dicts, default=str, ensure_ascii=False)
                )
                buf = io.StringIO()
                writer = csv.writer(buf)
                writer.writerow(names)
                writer.writerows(rows)
                zf.writestr(f"csv/{table}.csv", "\ufeff" + buf.getvalue())
        return total

    def erase(self, part: str, email: str, tenant: int | None = None) -> int:
        """The erasure in one transaction; the rows changed (updated + deleted)."""
        args = self._args(email, tenant)
        total = 0
        with self.conn.transaction():
            for sql in ERASE[part]:
                total += self.conn.execute(_params(sql), args).rowcount
        return total

    # --- as a whole process: psql -------------------------------------------------------------

    def psql_script(self, kind: str, part: str, email: str, tenant: int | None, out: Path) -> Path:
        """The script ``psql -f`` runs (written before the timed run)."""
        args = self._args(email, tenant)
        if kind == "erase":
            body = "\n".join(_psql_text(s, args) + ";" for s in ERASE[part])
        else:
            body = "\n".join(
                f"\\copy ({_psql_text(s, args)}) TO '{out / (t + '.csv')}' WITH (FORMAT csv, HEADER)"
                for t, s in ACCESS[part]
            )
        script = out / f"{kind}.sql"
        script.write_text(body + "\n")
        return script

    def psql(self, script: Path, *, single_transaction: bool) -> None:
        cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.dsn, "-f", str(script)]
        if single_transaction:
            cmd.insert(1, "-1")
        subprocess.run(cmd, check=True, capture_output=True)

    def close(self) -> None:
        self.conn.close()
