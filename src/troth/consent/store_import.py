"""Import opt-ins a company already holds in a column of a mapped SQL store
(``troth consent import --from-store``), once, with their original times and their source.

The column is read where it is: ``SELECT subject, time FROM table WHERE <opted in>``, the opt-in
test in SQL (a boolean column is true, a number is not 0, a text is ``true``, ``yes``, ``y``,
``t`` or ``1``), streamed in batches. Each opted-in row becomes a ``given`` event of the consent,
channel ``import``, its time the row's time (a time without a zone is read as UTC), its collection
point ``store.table.column`` (or ``--source``). Rows not opted in are not events: an unset
column is not a refusal anyone gave.

Nothing is written when one row is wrong: the rows are checked first (counts in SQL, then each
event as the ledger would record it), and only then recorded; replaying the import records
nothing twice (events are content-addressed). Errors name the store, table and column, never a
value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from troth.audit import Event
from troth.consent.events import EventKind, NewEvent
from troth.consent.ledger import ConsentLedger
from troth.datamap.model import DataMap
from troth.errors import ConsentError, TrothError

BATCH = 1000
_YES = ("true", "yes", "y", "t", "1")


@dataclass(frozen=True)
class OptInColumn:
    """Where the opt-ins are: a data map dataset (a SQL store), its table and columns."""

    store: str
    table: str
    column: str
    subject_column: str
    at_column: str

    @property
    def where(self) -> str:
        return f"{self.store}.{self.table}.{self.column}"


@dataclass(frozen=True)
class StoreImportResult:
    rows: int
    recorded: int
    dry_run: bool


def connection_of(datamap: DataMap, spec: OptInColumn) -> str:
    """The connection name of the store; refuses a store, table or column the map lacks."""
    ds = datamap.dataset(spec.store)
    if ds is None:
        names = ", ".join(d.name for d in datamap.datasets())
        raise ConsentError(
            f"the data map has no SQL store {spec.store!r}",
            where="--from-store",
            fix=f"name one of: {names}" if names else "declare the store in datamap.yaml",
        )
    table = ds.table(spec.table)
    if table is None:
        raise ConsentError(
            f"store {spec.store!r} has no table {spec.table!r} in the data map",
            where="--table",
            fix="name a table the map declares: " + ", ".join(t.name for t in ds.tables),
        )
    for option, name in (
        ("--column", spec.column),
        ("--subject-column", spec.subject_column),
        ("--at-column", spec.at_column),
    ):
        if table.field(name) is None:
            raise ConsentError(
                f"table {spec.store}.{spec.table} has no field {name!r} in the data map",
                where=option,
                fix="name a field the map declares: " + ", ".join(f.name for f in table.fields),
            )
    return ds.connection


def _opted_in(engine: sa.Engine, spec: OptInColumn, col: sa.ColumnClause[Any]) -> Any:
    """The SQL test of an opted-in row, by the column's type in the live store."""
    try:
        columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns(spec.table)}
    except sa.exc.NoSuchTableError:
        raise ConsentError(
            "the table is not in the store", where=spec.where, fix="check the data map"
        ) from None
    if spec.column not in columns:
        raise ConsentError(
            "the column is not in the store's table", where=spec.where, fix="check the data map"
        )
    kind = columns[spec.column]
    if isinstance(kind, sa.Boolean):
        return col.is_(sa.true())
    if isinstance(kind, sa.Integer | sa.Numeric):
        return col != 0
    if isinstance(kind, sa.String):
        return sa.func.lower(sa.func.trim(col)).in_(_YES)
    raise ConsentError(
        f"the column's type ({kind}) is not a yes/no value",
        where=spec.where,
        fix="use a boolean, number or text column",
    )


def _event_time(value: object) -> datetime | str:
    """The row's time; without a zone, UTC (SQLite gives text, servers give datetimes)."""
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return str(value)  # the ledger refuses it, naming the column
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class OptInReader:
    """The opted-in rows of one column, as ``given`` events, streamed."""

    def __init__(
        self, engine: sa.Engine, spec: OptInColumn, consent_id: str, source: str | None
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.consent_id = consent_id
        self.source = source or spec.where
        names = dict.fromkeys((spec.column, spec.subject_column, spec.at_column))
        t = sa.table(spec.table, *(sa.column(n) for n in names))
        self.table = t
        self.opted_in = _opted_in(engine, spec, t.c[spec.column])

    def missing(self) -> tuple[int, int, int]:
        """Opted-in rows, and how many of them lack a subject or a time (one query)."""
        t = self.table
        subject, at = t.c[self.spec.subject_column], t.c[self.spec.at_column]
        stmt = sa.select(
            sa.func.count(),
            sa.func.count(sa.case((subject.is_(None), 1))),
            sa.func.count(sa.case((at.is_(None), 1))),
        ).where(self.opted_in)
        with self.engine.connect() as conn:
            total, no_subject, no_time = conn.execute(stmt).one()
        return int(total), int(no_subject), int(no_time)

    def batches(self) -> Iterator[list[NewEvent]]:
        t = self.table
        stmt = (
            sa.select(t.c[self.spec.subject_column], t.c[self.spec.at_column])
            .where(self.opted_in)
            .order_by(t.c[self.spec.at_column])
        )
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(stmt)
            for part in result.partitions(BATCH):
                yield [
                    NewEvent(
                        str(subject).strip(),
                        self.consent_id,
                        EventKind.given.value,
                        channel="import",
                        event_time=_event_time(at),
                        collection_point=self.source,
                    )
                    for subject, at in part
                ]


def import_store(
    ledger: ConsentLedger,
    reader: OptInReader,
    *,
    dry_run: bool = False,
    actor: str = "import",
) -> StoreImportResult:
    """Check every opted-in row (nothing is written when one is wrong), then record them in
    batches; replaying the import records nothing twice."""
    where = reader.spec.where
    total, no_subject, no_time = reader.missing()
    if no_subject or no_time:
        raise ConsentError(
            f"{no_subject} opted-in rows have no {reader.spec.subject_column} and {no_time} "
            f"no {reader.spec.at_column}",
            where=where,
            fix="fill them or leave those rows out of the import (nothing was recorded)",
        )
    for batch in reader.batches():
        for event in batch:
            try:
                ledger.check(event, actor=actor)  # consent id, time window, identifier
            except TrothError as exc:
                raise ConsentError(
                    exc.message + " (nothing was recorded)", where=where, fix=exc.fix
                ) from None
    if dry_run:
        return StoreImportResult(total, 0, True)
    before = ledger.count()
    for batch in reader.batches():
        ledger.record_many(batch, actor=actor)
    recorded = ledger.count() - before
    ledger.audit.append_many(
        [
            Event(
                "consent.imported",
                {"rows": total, "recorded": recorded, "source": where},
                actor,
            )
        ]
    )
    return StoreImportResult(total, recorded, False)
