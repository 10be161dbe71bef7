"""Schemas shaped like public sample databases, created empty on SQLite, PostgreSQL or MariaDB.

``chinook``: CamelCase names as in the Chinook sample (a music shop): customers with a support
employee, invoices and their lines, a catalogue of tracks, a playlist link table.
``helpdesk``: a multi-tenant helpdesk written from scratch: tenants, users (the same e-mail may
exist in two tenants), agents, tickets assigned to agents and merged into other tickets, comments,
tags through a link table, watchers (two references and a timestamp, no key), a JSON metadata
column, an audit log without a primary key and a composite-key preferences table.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

CHINOOK = """
CREATE TABLE "Artist" ("ArtistId" INTEGER NOT NULL PRIMARY KEY, "Name" VARCHAR(120));
CREATE TABLE "Album" (
  "AlbumId" INTEGER NOT NULL PRIMARY KEY, "Title" VARCHAR(160) NOT NULL,
  "ArtistId" INTEGER NOT NULL, FOREIGN KEY ("ArtistId") REFERENCES "Artist" ("ArtistId"));
CREATE TABLE "Genre" ("GenreId" INTEGER NOT NULL PRIMARY KEY, "Name" VARCHAR(120));
CREATE TABLE "MediaType" ("MediaTypeId" INTEGER NOT NULL PRIMARY KEY, "Name" VARCHAR(120));
CREATE TABLE "Track" (
  "TrackId" INTEGER NOT NULL PRIMARY KEY, "Name" VARCHAR(200) NOT NULL, "AlbumId" INTEGER,
  "MediaTypeId" INTEGER NOT NULL, "GenreId" INTEGER, "Composer" VARCHAR(220),
  "Milliseconds" INTEGER NOT NULL, "Bytes" INTEGER, "UnitPrice" DECIMAL(10, 2) NOT NULL,
  FOREIGN KEY ("AlbumId") REFERENCES "Album" ("AlbumId"),
  FOREIGN KEY ("GenreId") REFERENCES "Genre" ("GenreId"),
  FOREIGN KEY ("MediaTypeId") REFERENCES "MediaType" ("MediaTypeId"));
CREATE TABLE "Employee" (
  "EmployeeId" INTEGER NOT NULL PRIMARY KEY, "LastName" VARCHAR(20) NOT NULL,
  "FirstName" VARCHAR(20) NOT NULL, "Title" VARCHAR(30), "ReportsTo" INTEGER,
  "BirthDate" {ts}, "HireDate" {ts}, "Address" VARCHAR(70), "City" VARCHAR(40),
  "State" VARCHAR(40), "Country" VARCHAR(40), "PostalCode" VARCHAR(10), "Phone" VARCHAR(24),
  "Fax" VARCHAR(24), "Email" VARCHAR(60),
  FOREIGN KEY ("ReportsTo") REFERENCES "Employee" ("EmployeeId"));
CREATE TABLE "Customer" (
  "CustomerId" INTEGER NOT NULL PRIMARY KEY, "FirstName" VARCHAR(40) NOT NULL,
  "LastName" VARCHAR(20) NOT NULL, "Company" VARCHAR(80), "Address" VARCHAR(70),
  "City" VARCHAR(40), "State" VARCHAR(40), "Country" VARCHAR(40), "PostalCode" VARCHAR(10),
  "Phone" VARCHAR(24), "Fax" VARCHAR(24), "Email" VARCHAR(60) NOT NULL, "SupportRepId" INTEGER,
  FOREIGN KEY ("SupportRepId") REFERENCES "Employee" ("EmployeeId"));
CREATE TABLE "Invoice" (
  "InvoiceId" INTEGER NOT NULL PRIMARY KEY, "CustomerId" INTEGER NOT NULL,
  "InvoiceDate" {ts} NOT NULL, "BillingAddress" VARCHAR(70), "BillingCity" VARCHAR(40),
  "BillingState" VARCHAR(40), "BillingCountry" VARCHAR(40), "BillingPostalCode" VARCHAR(10),
  "Total" DECIMAL(10, 2) NOT NULL,
  FOREIGN KEY ("CustomerId") REFERENCES "Customer" ("CustomerId"));
CREATE TABLE "InvoiceLine" (
  "InvoiceLineId" INTEGER NOT NULL PRIMARY KEY, "InvoiceId" INTEGER NOT NULL,
  "TrackId" INTEGER NOT NULL, "UnitPrice" DECIMAL(10, 2) NOT NULL, "Quantity" INTEGER NOT NULL,
  FOREIGN KEY ("InvoiceId") REFERENCES "Invoice" ("InvoiceId"),
  FOREIGN KEY ("TrackId") REFERENCES "Track" ("TrackId"));
CREATE TABLE "Playlist" ("PlaylistId" INTEGER NOT NULL PRIMARY KEY, "Name" VARCHAR(120));
CREATE TABLE "PlaylistTrack" (
  "PlaylistId" INTEGER NOT NULL, "TrackId" INTEGER NOT NULL,
  PRIMARY KEY ("PlaylistId", "TrackId"),
  FOREIGN KEY ("PlaylistId") REFERENCES "Playlist" ("PlaylistId"),
  FOREIGN KEY ("TrackId") REFERENCES "Track" ("TrackId"));
"""

HELPDESK = """
CREATE TABLE tenants (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(80) NOT NULL,
  plan VARCHAR(20), created_at {ts});
CREATE TABLE statuses (code VARCHAR(20) NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL);
CREATE TABLE users (
  id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL, email VARCHAR(255) NOT NULL,
  name VARCHAR(120), phone VARCHAR(40), company VARCHAR(120), "jobTitle" VARCHAR(80),
  "FAX_NUMBER" VARCHAR(40), last_login {ts}, created_at {ts},
  FOREIGN KEY (tenant_id) REFERENCES tenants (id));
CREATE TABLE agents (
  id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL, email VARCHAR(255) NOT NULL,
  name VARCHAR(120), created_at {ts},
  FOREIGN KEY (tenant_id) REFERENCES tenants (id));
CREATE TABLE tickets (
  id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL, requester_id INTEGER NOT NULL,
  assignee_id INTEGER, merged_into INTEGER, subject VARCHAR(200) NOT NULL, description TEXT,
  status VARCHAR(20) NOT NULL, metadata {json}, created_at {ts}, last_activity_at {ts},
  FOREIGN KEY (tenant_id) REFERENCES tenants (id),
  FOREIGN KEY (requester_id) REFERENCES users (id),
  FOREIGN KEY (assignee_id) REFERENCES agents (id),
  FOREIGN KEY (merged_into) REFERENCES tickets (id),
  FOREIGN KEY (status) REFERENCES statuses (code));
CREATE TABLE ticket_comments (
  id INTEGER NOT NULL PRIMARY KEY, ticket_id INTEGER NOT NULL, body TEXT, sent_at {ts},
  FOREIGN KEY (ticket_id) REFERENCES tickets (id));
CREATE TABLE tags (id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL,
  name VARCHAR(40) NOT NULL, FOREIGN KEY (tenant_id) REFERENCES tenants (id));
CREATE TABLE ticket_tags (
  ticket_id INTEGER NOT NULL, tag_id INTEGER NOT NULL, PRIMARY KEY (ticket_id, tag_id),
  FOREIGN KEY (ticket_id) REFERENCES tickets (id), FOREIGN KEY (tag_id) REFERENCES tags (id));
CREATE TABLE ticket_watchers (
  ticket_id INTEGER NOT NULL, user_id INTEGER NOT NULL, added_at {ts},
  FOREIGN KEY (ticket_id) REFERENCES tickets (id), FOREIGN KEY (user_id) REFERENCES users (id));
CREATE TABLE audit_log (
  tenant_id INTEGER NOT NULL, user_id INTEGER, action VARCHAR(40) NOT NULL,
  ip_address VARCHAR(45), message VARCHAR(400), occurred_at {ts},
  FOREIGN KEY (tenant_id) REFERENCES tenants (id), FOREIGN KEY (user_id) REFERENCES users (id));
CREATE TABLE user_preferences (
  user_id INTEGER NOT NULL, pref_key VARCHAR(40) NOT NULL, pref_value VARCHAR(200),
  updated_at {ts}, PRIMARY KEY (user_id, pref_key),
  FOREIGN KEY (user_id) REFERENCES users (id));
"""

SCHEMAS = {"chinook": CHINOOK, "helpdesk": HELPDESK}
_TYPES = {
    "sqlite": {"ts": "TIMESTAMP", "json": "JSON"},
    "postgresql": {"ts": "TIMESTAMP", "json": "JSONB"},
    "mysql": {"ts": "DATETIME", "json": "JSON"},
}


def statements(name: str, dialect: str) -> list[str]:
    """The schema's statements for one dialect (MariaDB quotes names with backticks)."""
    text = SCHEMAS[name].format(**_TYPES[dialect])
    if dialect == "mysql":
        text = re.sub(r'"([A-Za-z_]+)"', r"`\1`", text)
    return [s.strip() for s in text.split(";") if s.strip()]


def create_schema(url: str, name: str) -> None:
    """Create the (empty) schema ``name`` in the database at ``url``."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for stmt in statements(name, engine.dialect.name):
                conn.exec_driver_sql(stmt)
    finally:
        engine.dispose()
