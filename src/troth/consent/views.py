"""Purpose-bound views: for each purpose, SQL views that expose only the fields the purpose may use
and, for consent-based purposes, only the people for whom it is allowed.

The database does the filtering: troth keeps a small table ``troth_consent_state`` inside the target
database with the keys of the rows (of tables that hold a person's identity) whose person allows the
purpose, synced from the consent ledger by :func:`sync_state`. A table that references such a table
(``orders.customer_id -> customers.id``) is filtered through the reference. No personal value is
copied: the state table holds purpose ids, table names and primary keys.

Planning is separate from applying: :func:`plan_views` returns the SQL, :func:`apply_views` runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from troth.consent.ledger import ConsentLedger
from troth.consent.subjects import identifier_ref
from troth.datamap.model import DataMap, Dataset, MapField, Table
from troth.errors import PurposeDeniedError, UnknownNameError
from troth.policy.model import LegalBasis, Policy, Purpose
from troth.policy.taxonomy import covers

STATE_TABLE = "troth_consent_state"
VIEW_PREFIX = "troth_"


@dataclass(frozen=True)
class ViewPlan:
    purpose: str
    table: str
    name: str
    columns: list[str]
    filtered_by: str | None  # "customers" (identity table) or None (no person filter)
    sql: str

    def line(self) -> str:
        who = f"people allowed (via {self.filtered_by})" if self.filtered_by else "all rows"
        return f"{self.name}: {', '.join(self.columns)} — {who}"


def allowed_category(field_cats: Iterable[str], purpose: Purpose) -> bool:
    """Every category of the field is one of the purpose's categories (or under one)."""
    cats = list(field_cats)
    return bool(cats) and all(
        any(c == p or c.startswith(p + ".") for p in purpose.categories) for c in cats
    )


def restricted_categories(policy: Policy, purpose: Purpose) -> list[str]:
    """Categories of the restricted sources (Google user data under Limited Use) that *purpose*
    may not see: it is not one of a source's ``allowed_purposes``, or its use is forbidden."""
    out: list[str] = []
    for src in policy.restricted_sources:
        allowed = not src.allowed_purposes or purpose.id in src.allowed_purposes
        if not allowed or any(covers(b, purpose.use) for b in src.forbidden_uses):
            out += src.categories
    return out


def needs_consent(purpose: Purpose) -> bool:
    return purpose.legal_basis is LegalBasis.consent


def _identity_tables(ds: Dataset) -> dict[str, Table]:
    return {t.name: t for t in ds.tables if any(f.identity for f in t.fields) and t.primary_key()}


def _link(table: Table, ds: Dataset) -> tuple[str, str, str] | None:
    """``(local column, identity table, its key column)`` that ties *table* to a person."""
    idents = _identity_tables(ds)
    if table.name in idents and len(table.primary_key()) == 1:
        return table.primary_key()[0], table.name, table.primary_key()[0]
    for f in table.fields:
        for ref in f.references:
            dset, tname, col = ref.target(ds.name)
            if dset == ds.name and tname in idents and idents[tname].primary_key() == [col]:
                return f.name, tname, col
    return None


def plan_views(
    policy: Policy, datamap: DataMap, dialect: str, *, dataset: str | None = None
) -> list[ViewPlan]:
    """The views of every purpose with at least one usable field, for one SQL *dialect*."""
    q = _quoter(dialect)
    plans: list[ViewPlan] = []
    for ds, table in datamap.tables():
        if dataset and ds.name != dataset:
            continue
        for purpose in policy.purposes:
            withheld = restricted_categories(policy, purpose)
            usable = [
                f
                for f in table.fields
                if allowed_category(f.categories, purpose)
                and not any(covers(r, c) or covers(c, r) for c in f.categories for r in withheld)
            ]
            if not usable:
                continue
            keys = [f.name for f in table.fields if f.primary_key and f not in usable]
            cols = keys + [f.name for f in usable]
            name = f"{VIEW_PREFIX}{purpose.id}__{table.name}"[:63]
            select = ", ".join(f"t.{q(c)}" for c in cols)
            sql = f"SELECT {select} FROM {q(table.name)} t"
            filtered_by = None
            if needs_consent(purpose):
                link = _link(table, ds)
                if link is None:
                    continue  # cannot tell whose rows these are: no view rather than all rows
                local, ident_table, _key = link
                filtered_by = ident_table
                sql += (
                    f" WHERE EXISTS (SELECT 1 FROM {q(STATE_TABLE)} s WHERE s.purpose = "
                    f"'{purpose.id}' AND s.table_name = '{ident_table}' AND s.row_key = "
                    f"{_as_text(dialect, 't.' + q(local))})"
                )
            plans.append(ViewPlan(purpose.id, table.name, name, cols, filtered_by, sql))
    return plans


def _quoter(dialect: str) -> Callable[[str], str]:
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    d = {"postgresql": postgresql, "mysql": mysql, "mariadb": mysql, "sqlite": sqlite}[dialect]
    return d.dialect().identifier_preparer.quote  # type: ignore[no-any-return]


def _as_text(dialect: str, expr: str) -> str:
    if dialect in {"mysql", "mariadb"}:
        return f"CAST({expr} AS CHAR(64))"
    if dialect == "sqlite":
        return f"CAST({expr} AS TEXT)"
    return f"CAST({expr} AS VARCHAR(64))"


def _state_ddl(dialect: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (purpose VARCHAR(80) NOT NULL, "
        "table_name VARCHAR(128) NOT NULL, row_key VARCHAR(64) NOT NULL, "
        "PRIMARY KEY (purpose, table_name, row_key))"
    )


def apply_views(conn: Connection, plans: Sequence[ViewPlan]) -> None:
    """Create the state table and (re)create the views, in the caller's transaction."""
    dialect = conn.dialect.name
    q = _quoter(dialect)
    conn.exec_driver_sql(_state_ddl(dialect))
    for p in plans:
        if dialect == "sqlite":
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {q(p.name)}")
            conn.exec_driver_sql(f"CREATE VIEW {q(p.name)} AS {p.sql}")
        else:
            conn.exec_driver_sql(f"CREATE OR REPLACE VIEW {q(p.name)} AS {p.sql}")


def drop_views(conn: Connection, plans: Sequence[ViewPlan], *, state: bool = True) -> None:
    q = _quoter(conn.dialect.name)
    for p in plans:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {q(p.name)}")
    if state:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STATE_TABLE}")


def allowed_subjects(ledger: ConsentLedger, purpose: Purpose) -> set[str]:
    """Subject refs whose current consent allows *purpose* (given, current notice version)."""
    out: set[str] = set()
    for subject, states in ledger.all_states(purpose.consents).items():
        for cid in purpose.consents:
            st, consent = states.get(cid), ledger.consents.get(cid)
            if st and consent and st.given and st.notice_version == consent.notice.version:
                out.add(subject)
                break
    return out


def sync_state(
    conn: Connection,
    ledger: ConsentLedger,
    datamap: DataMap,
    *,
    dataset: str | None = None,
    batch: int = 10_000,
) -> dict[str, int]:
    """Rewrite ``troth_consent_state`` from the ledger; returns allowed rows per purpose.

    Identity values are read in batches, hashed in process with troth's key and matched against
    the ledger's subject refs; only the matching primary keys are written.
    """
    q = _quoter(conn.dialect.name)
    conn.exec_driver_sql(_state_ddl(conn.dialect.name))
    counts: dict[str, int] = {}
    for purpose in ledger.policy.purposes:
        if not needs_consent(purpose) or not purpose.consents:
            continue
        allowed = allowed_subjects(ledger, purpose)
        conn.execute(sa.text(f"DELETE FROM {STATE_TABLE} WHERE purpose = :p"), {"p": purpose.id})
        counts[purpose.id] = 0
        for ds in datamap.datasets():
            if dataset and ds.name != dataset:
                continue
            for table in _identity_tables(ds).values():
                [key] = table.primary_key()[:1] or [""]
                ident: MapField = next(f for f in table.fields if f.identity)
                stmt = sa.text(f"SELECT {q(key)}, {q(ident.name)} FROM {q(table.name)}")
                result = conn.execute(stmt.execution_options(stream_results=True))
                keys: list[str] = []
                for part in result.partitions(batch):
                    keys.extend(
                        str(pk)
                        for pk, v in part
                        if v is not None and identifier_ref(ledger.key, str(v)) in allowed
                    )
                result.close()  # MySQL: the streamed result must be closed before the inserts
                insert = sa.text(
                    f"INSERT INTO {STATE_TABLE} (purpose, table_name, row_key) VALUES (:p, :t, :k)"
                )
                for i in range(0, len(keys), batch):
                    rows = [{"p": purpose.id, "t": table.name, "k": k} for k in keys[i : i + batch]]
                    conn.execute(insert, rows)
                counts[purpose.id] += len(keys)
    return counts


def run_for_purpose(
    conn: Connection,
    purpose_id: str,
    select: sa.Select[tuple[object, ...]],
    *,
    policy: Policy,
    datamap: DataMap,
) -> sa.CursorResult[tuple[object, ...]]:
    """Run *select* under a declared purpose; refuse it if it reads a field outside the purpose.

    Columns are matched to the data map by table and column name; columns the map gives no
    category (keys, flags) are allowed.
    """
    purpose = policy.purpose(purpose_id)
    if purpose is None:
        raise UnknownNameError("purpose", purpose_id, [p.id for p in policy.purposes])
    fields = {(t.name, f.name): f for _ds, t, f in datamap.fields()}
    withheld = restricted_categories(policy, purpose)
    for col in select.selected_columns:
        table = getattr(getattr(col, "table", None), "name", None)
        name = getattr(col, "name", None)
        f = fields.get((str(table), str(name)))
        if f is not None and f.categories and not allowed_category(f.categories, purpose):
            raise PurposeDeniedError(
                f"purpose {purpose_id!r} may not read {table}.{name} ({', '.join(f.categories)})",
                where=f"{table}.{name}",
                fix=f"select only fields of the categories {', '.join(purpose.categories)}",
            )
        if f is not None and any(
            covers(r, c) or covers(c, r) for c in f.categories for r in withheld
        ):
            raise PurposeDeniedError(
                f"purpose {purpose_id!r} may not read {table}.{name}: restricted-source data "
                "(Limited Use) outside the source's allowed purposes",
                where=f"{table}.{name}",
                fix="read it only under a purpose the restricted source allows",
            )
    return conn.execute(select)
