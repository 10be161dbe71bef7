"""Schema reading for the SQL connector: the per-dialect schema fingerprint query, type names,
MariaDB's JSON columns.

See :mod:`troth.connectors.sql`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: per dialect, one query whose result changes with the schema (tables, columns, types,
#: nullability, primary and foreign keys) of the database troth reads
FINGERPRINT = {
    # SQLite counts every schema change in its header
    "sqlite": "PRAGMA schema_version",
    "postgresql": """
        SELECT count(*), md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
          SELECT concat_ws(':', c.relname, a.attname, a.attnum::text, a.atttypid::text,
                           a.atttypmod::text, a.attnotnull::text) AS x
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND a.attnum > 0 AND NOT a.attisdropped
          UNION ALL
          SELECT concat_ws(':', con.conname, con.contype::text, con.conrelid::text,
                           con.confrelid::text, con.conkey::text, con.confkey::text)
          FROM pg_constraint con
          JOIN pg_namespace n ON n.oid = con.connamespace
          WHERE n.nspname = current_schema() AND con.contype IN ('p', 'f', 'u')
        ) t""",
    "mysql": """
        SELECT (SELECT count(*) FROM information_schema.columns
                WHERE table_schema = DATABASE()),
               (SELECT coalesce(sum(crc32(concat_ws(':', table_name, column_name,
                         ordinal_position, column_type, is_nullable, column_key))), 0)
                FROM information_schema.columns WHERE table_schema = DATABASE()),
               (SELECT coalesce(sum(crc32(concat_ws(':', table_name, column_name,
                         constraint_name, referenced_table_name, referenced_column_name))), 0)
                FROM information_schema.key_column_usage WHERE table_schema = DATABASE())""",
}


def type_name(t: Any) -> str:
    if type(t).__name__ == "TINYINT" and getattr(t, "display_width", None) == 1:
        return "boolean"  # MySQL's BOOLEAN is TINYINT(1)
    try:
        return str(t.compile()).lower()
    except Exception:  # a type that needs a dialect to render
        return type(t).__name__.lower()


def mariadb_json_columns(conn: Connection) -> set[tuple[str, str]]:
    """``(table, column)`` of MariaDB JSON columns: LONGTEXT with a ``json_valid()`` check."""
    if not getattr(conn.dialect, "is_mariadb", False):
        return set()
    rows = conn.execute(
        sa.text(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE"
            " FROM information_schema.CHECK_CONSTRAINTS"
            " WHERE CONSTRAINT_SCHEMA = DATABASE() AND LEVEL = 'Column'"
        )
    )
    out = set()
    for table, column, clause in rows:
        quoted = "`" + str(column).replace("`", "``") + "`"
        if str(clause).replace(" ", "").lower() == f"json_valid({quoted.lower()})":
            out.add((str(table), str(column)))
    return out
