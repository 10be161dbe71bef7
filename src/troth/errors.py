"""The one exception tree of troth.

Every error troth raises on purpose is a :class:`TrothError`. Each carries three parts that make a
one-line message: *what* failed, *where* (a ``file:line:column``, a field path, a table) and the
*fix*. Messages never contain personal data: ids, names of fields and tables, counts and keyed
hashes only.

Driver and library errors (SQLAlchemy, PyYAML, pydantic, sockets) are mapped into this tree at the
boundary where troth calls them; nothing here knows about HTTP. The web layer maps these classes to
status codes in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from difflib import get_close_matches


class TrothError(Exception):
    """Base class of every error troth raises on purpose."""

    #: process exit code the CLI uses for this kind of error (2: the user can fix the input)
    exit_code: int = 2
    #: whether running the same operation again later may succeed (a store that was down)
    retryable: bool = False

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``where: message; fix: ...`` on one line."""
        text = self.message.rstrip(".")
        if self.where:
            text = f"{self.where}: {text}"
        if self.fix:
            text = f"{text}; fix: {self.fix.rstrip('.')}"
        return " ".join(text.split())


# --- configuration and plug-ins -----------------------------------------------------------------


class ConfigError(TrothError):
    """troth's own configuration (environment, config file, keys) is missing or invalid."""


class PluginError(TrothError):
    """A plug-in could not be found or loaded."""


class UnknownNameError(TrothError):
    """A name (plug-in, consent id, check id...) is not one of the valid ones."""

    def __init__(
        self,
        kind: str,
        name: str,
        valid: Iterable[str],
        *,
        where: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(
            f"unknown {kind} {name!r}{did_you_mean(name, self.valid)}",
            where=where,
            fix=f"use one of: {', '.join(self.valid)}" if self.valid else None,
        )


class UnknownPluginError(UnknownNameError, PluginError):
    """No plug-in of that kind is registered under that name."""


# --- the policy ----------------------------------------------------------------------------------


class PolicyError(TrothError):
    """A policy or data map file cannot be read or is not valid."""


class PolicyLoadError(PolicyError):
    """One or more problems found while loading a policy file; each is one line."""

    def __init__(self, problems: Sequence[TrothError]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(first.message + suffix, where=first.where, fix=first.fix)

    def lines(self, limit: int = 50) -> list[str]:
        """One line per problem: the first *limit*, then how many more there are."""
        out = [p.one_line() for p in self.problems[:limit]]
        more = len(self.problems) - limit
        if more > 0:
            out.append(
                f"and {more} more problem{'s' if more > 1 else ''} (fix the ones above first)"
            )
        return out


# --- troth's own state and the audit ledger -----------------------------------------------------


class StoreError(TrothError):
    """troth's own state database failed."""

    exit_code = 3


class StoreUnavailableError(StoreError):
    """troth's state database cannot be reached; try again when it is up."""

    retryable = True


class AuditError(TrothError):
    """The audit ledger cannot be written, read or verified."""


class LedgerTamperedError(AuditError):
    """Verification found the ledger altered."""

    exit_code = 1


# --- data, connectors and requests (used by later modules) --------------------------------------


class DataMapError(PolicyError):
    """The data map is invalid or does not match the stores."""


class ConnectorError(TrothError):
    """A data store could not be read or written (the statement failed; nothing was changed)."""

    exit_code = 4


class StoreDownError(ConnectorError):
    """A data store is unreachable; the operation can be retried."""

    exit_code = 3
    retryable = True


class StoreRefusedError(ConnectorError):
    """A data store refused a change (a constraint, a value that does not fit); rolled back."""


class RequestError(TrothError):
    """A data-subject request cannot be processed as asked."""


class RequestNotFoundError(RequestError):
    """No data-subject request has this id (HTTP 404)."""


class RequestStateError(RequestError):
    """The request's status does not allow the action (HTTP 409)."""


class ConsentError(TrothError):
    """A consent event or query is invalid."""


class PurposeDeniedError(TrothError):
    """Processing for a purpose is not allowed for this subject; the message says why."""

    exit_code = 1


class NotifyError(TrothError):
    """A message to a person could not be sent (SMTP server, SMS webhook, settings)."""

    exit_code = 3


class RetentionError(TrothError):
    """A retention rule cannot be planned or run."""


class DisclosureRefusedError(TrothError):
    """The policy does not let this recipient receive the person's data for this purpose."""

    exit_code = 1


class ConsoleError(TrothError):
    """The privacy team's console: users, sessions, sign-in."""


def did_you_mean(name: str, valid: Iterable[str], *, n: int = 3) -> str:
    """``"; did you mean 'x'?"`` for the nearest valid names, or an empty string."""
    close = get_close_matches(name, list(valid), n=n, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f"; did you mean {close[0]!r}?"
    return "; did you mean " + ", ".join(repr(c) for c in close[:-1]) + f" or {close[-1]!r}?"
