"""Driver errors of the SQL connector mapped to troth's: whether the store is down, and the error
for a statement the store refused (its kind and constraint, never the statement's text).

See :mod:`troth.connectors.sql`.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from troth.errors import ConnectorError, StoreRefusedError


def error_kind(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or (
        orig.args[0] if orig is not None and orig.args and isinstance(orig.args[0], int) else None
    )
    name = type(orig).__name__ if orig is not None else type(exc).__name__
    return f"{name} {code}" if code else name


_DOWN_WORDS = (
    "connection refused",
    "could not connect",
    "can't connect",
    "server has gone away",
    "lost connection",
    "connection timed out",
    "unable to open database",
    "connection is closed",
    "terminating connection",
    "name or service not known",
    "no route to host",
)


def is_down(exc: sa.exc.SQLAlchemyError) -> bool:
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.TimeoutError):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(w in text for w in _DOWN_WORDS)


def refused(exc: sa.exc.SQLAlchemyError, action: str, where: str) -> ConnectorError:
    """The error for a statement the store refused (never its text: it can quote values)."""
    constraint = _constraint(exc)
    what = f"cannot {action} ({error_kind(exc)}" + (
        f", constraint {constraint!r})" if constraint else ")"
    )
    if isinstance(exc, sa.exc.IntegrityError):
        return StoreRefusedError(
            f"{what}: the store refused the change", where=where, fix=_fix(exc)
        )
    if isinstance(exc, sa.exc.DataError):
        return StoreRefusedError(f"{what}: a value does not fit", where=where, fix=_fix(exc))
    return ConnectorError(what, where=where, fix=_fix(exc))


def _constraint(exc: BaseException) -> str | None:
    """The violated constraint's name when the driver reports it (PostgreSQL; MariaDB's text)."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    text = str(orig or "")
    m = re.search(r"CONSTRAINT `([^`]+)`", text)
    return m.group(1) if m else None


def _fix(exc: BaseException) -> str:
    if isinstance(exc, sa.exc.ProgrammingError | sa.exc.OperationalError):
        return "compare the data map with the live schema: `troth datamap check --live`"
    if isinstance(exc, sa.exc.IntegrityError):
        return (
            "nothing was changed (the store's transaction was rolled back); map the reference "
            "that points at these rows (`troth dsr plan` shows the order), or mask instead"
        )
    if isinstance(exc, sa.exc.DataError):
        return "nothing was changed; check the column's type and the value given for it"
    return "see the store's logs for the statement that failed"
