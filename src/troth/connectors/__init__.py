"""Connectors to the data stores a data map names (a small protocol; SQL is the first)."""

from troth.connectors.base import (
    CONNECTORS,
    ColumnInfo,
    Connector,
    ConnectorFactory,
    ForeignKeyInfo,
    SchemaInfo,
    TableInfo,
    connect,
    redact_url,
    scheme_family,
)
from troth.connectors.names import open_connection, resolve_connection

__all__ = [
    "CONNECTORS",
    "ColumnInfo",
    "Connector",
    "ConnectorFactory",
    "ForeignKeyInfo",
    "SchemaInfo",
    "TableInfo",
    "connect",
    "open_connection",
    "redact_url",
    "resolve_connection",
    "scheme_family",
]
