"""A multi-tenant helpdesk: the shapes real schemas have, for retention tests on every engine.

Now is 2026-06-01. Rules: ``support`` (ticket content, 2 years after the ticket's last activity,
closed and spam tickets only), ``contacts`` (3 years after the customer's last login),
``billing`` (invoices, 3 years after the customer's last login; policy hold ``audit``: 6 years
from issue; map hold ``tax``: 10 years since ``issued_at``, then it ends), ``logs`` (IP addresses
in a log table without a primary key, 90 days). Tickets reference each other (``merged_into``);
tags have a composite key; customer 3's e-mail is under a person hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.retention.kit import Row

NOW = datetime(2026, 6, 1)
HELD_EMAIL = "c3@example.com"
OLD, OLDER, RECENT = datetime(2022, 1, 1), datetime(2021, 1, 1), datetime(2026, 5, 1)
R = "[redacted]"

RULES = """\
- id: support
  categories: [user.content]
  period: 2 years
  trigger: last_activity
  action: delete
- id: contacts
  categories: [user.contact, user.name]
  period: 3 years
  trigger: last_activity
  action: delete
- id: billing
  categories: [user.financial]
  period: 3 years
  trigger: last_activity
  action: delete
  legal_holds:
    - {id: audit, categories: [user.financial], period: 6 years, reason: Audit trail.}
- id: logs
  categories: [user.device.ip_address]
  period: 90 days
  trigger: collection
  action: delete
"""

DATAMAP = """\
troth: 1
kind: datamap
systems:
  - name: helpdesk
    datasets:
      - name: desk
        connection: shop
        tables:
          - name: tenants
            fields:
              - {name: id, primary_key: true}
              - {name: name}
          - name: customers
            subject: customer
            fields:
              - {name: id, primary_key: true}
              - name: tenant_id
                references: [{field: tenants.id, kind: refers}]
              - {name: email, identity: email, categories: [user.contact.email]}
              - {name: name, categories: [user.name]}
              - {name: last_login, retention_timestamp: true}
          - name: tickets
            subject: customer
            retention:
              - {rule: support, where: {status: [closed, spam]}}
            fields:
              - {name: id, primary_key: true}
              - name: tenant_id
                references: [{field: tenants.id, kind: refers}]
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
              - name: merged_into
                references: [{field: tickets.id, kind: refers}]
              - {name: status}
              - {name: subject, categories: [user.content.private]}
              - {name: last_activity_at, retention_timestamp: true}
          - name: ticket_messages
            subject: customer
            fields:
              - {name: id, primary_key: true}
              - name: ticket_id
                references: [{field: tickets.id, kind: owns}]
              - {name: body, categories: [user.content.private]}
              - {name: sent_at, retention_timestamp: true}
          - name: ticket_tags
            subject: customer
            fields:
              - name: ticket_id
                primary_key: true
                references: [{field: tickets.id, kind: owns}]
              - {name: tag, primary_key: true, categories: [user.content.public]}
          - name: invoices
            subject: customer
            legal_holds:
              - {id: tax, reason: Invoices are kept 10 years for tax law., for: 10 years since issued_at}
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
              - {name: amount, categories: [user.financial]}
              - {name: issued_at, retention_timestamp: true}
          - name: access_log
            subject: customer
            fields:
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
              - {name: ip, categories: [user.device.ip_address]}
              - {name: logged_at, retention_timestamp: true}
"""

DDL = [
    "CREATE TABLE tenants (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(80))",
    """CREATE TABLE customers (id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL,
       email VARCHAR(120), name VARCHAR(80), last_login TIMESTAMP NULL,
       FOREIGN KEY (tenant_id) REFERENCES tenants (id))""",
    """CREATE TABLE tickets (id INTEGER NOT NULL PRIMARY KEY, tenant_id INTEGER NOT NULL,
       customer_id INTEGER NOT NULL, merged_into INTEGER NULL, status VARCHAR(20),
       subject VARCHAR(120), last_activity_at TIMESTAMP NULL,
       FOREIGN KEY (tenant_id) REFERENCES tenants (id),
       FOREIGN KEY (customer_id) REFERENCES customers (id),
       FOREIGN KEY (merged_into) REFERENCES tickets (id))""",
    """CREATE TABLE ticket_messages (id INTEGER NOT NULL PRIMARY KEY, ticket_id INTEGER NOT NULL,
       body VARCHAR(200), sent_at TIMESTAMP NULL,
       FOREIGN KEY (ticket_id) REFERENCES tickets (id))""",
    """CREATE TABLE ticket_tags (ticket_id INTEGER NOT NULL, tag VARCHAR(40) NOT NULL,
       PRIMARY KEY (ticket_id, tag), FOREIGN KEY (ticket_id) REFERENCES tickets (id))""",
    """CREATE TABLE invoices (id INTEGER NOT NULL PRIMARY KEY, customer_id INTEGER NOT NULL,
       amount INTEGER, issued_at TIMESTAMP NULL,
       FOREIGN KEY (customer_id) REFERENCES customers (id))""",
    """CREATE TABLE access_log (customer_id INTEGER NOT NULL, ip VARCHAR(45),
       logged_at TIMESTAMP NULL, FOREIGN KEY (customer_id) REFERENCES customers (id))""",
]


def _ticket(
    i: int, customer: int, status: str, at: datetime, merged: int | None = None
) -> dict[str, Any]:
    return {
        "id": i,
        "tenant_id": 1 + customer % 2,
        "customer_id": customer,
        "merged_into": merged,
        "status": status,
        "subject": f"subject {i}",
        "last_activity_at": at,
    }


ROWS: dict[str, list[Row]] = {
    "tenants": [{"id": 1, "name": "Acme"}, {"id": 2, "name": "Globex"}],
    "customers": [
        {
            "id": c,
            "tenant_id": 1 + c % 2,
            "email": f"c{c}@example.com",
            "name": f"Name {c}",
            "last_login": RECENT if c == 4 else datetime(2020, 1, 1),
        }
        for c in range(1, 6)
    ],
    "tickets": [
        _ticket(1, 2, "closed", OLDER),
        _ticket(9, 4, "closed", OLD),  # t10 is merged into it: deleted after t10 (leaves first)
        _ticket(10, 4, "closed", OLD, 9),
        _ticket(11, 4, "open", OLD),  # open, idle four years: kept (row condition)
        _ticket(12, 4, "closed", OLD, 11),
        _ticket(13, 4, "closed", OLD),  # t14 (open) is merged into it: anonymised
        _ticket(14, 4, "open", RECENT, 13),
        _ticket(20, 4, "closed", OLD),  # a chain: t22 (open) -> t21 -> t20: both anonymised
        _ticket(21, 4, "closed", OLD, 20),
        _ticket(22, 4, "open", RECENT, 21),
        _ticket(30, 3, "closed", OLDER),  # customer 3 is under a person hold
        _ticket(31, 4, "Closed", OLDER),  # not 'closed' on any engine (MariaDB's collation)
        _ticket(32, 4, "spam", OLDER),
        _ticket(33, 4, "closed ", OLDER),  # trailing space: not 'closed' either
        _ticket(40, 5, "closed", OLDER),
    ],
    "ticket_messages": [
        {"id": 1, "ticket_id": 1, "body": "hello", "sent_at": OLDER},
        {"id": 2, "ticket_id": 11, "body": "still open", "sent_at": OLD},  # open ticket: kept
        {"id": 3, "ticket_id": 13, "body": "merged", "sent_at": OLD},
        {"id": 4, "ticket_id": 30, "body": "held", "sent_at": OLDER},
        {"id": 5, "ticket_id": 40, "body": "bye", "sent_at": OLDER},
    ],
    "ticket_tags": [
        {"ticket_id": 1, "tag": "billing"},
        {"ticket_id": 1, "tag": "urgent"},
        {"ticket_id": 11, "tag": "vip"},
        {"ticket_id": 20, "tag": "x"},
    ],
    "invoices": [
        {"id": 1, "customer_id": 1, "amount": 10, "issued_at": datetime(2020, 1, 1)},  # tax only
        {"id": 2, "customer_id": 2, "amount": 20, "issued_at": datetime(2014, 1, 1)},  # ended
        {"id": 3, "customer_id": 1, "amount": 30, "issued_at": datetime(2021, 1, 1)},  # both
        {"id": 4, "customer_id": 4, "amount": 40, "issued_at": datetime(2010, 1, 1)},  # active
        {"id": 5, "customer_id": 3, "amount": 50, "issued_at": datetime(2010, 1, 1)},  # person
    ],
    "access_log": [
        {"customer_id": 2, "ip": "10.0.0.2", "logged_at": datetime(2025, 1, 1)},
        {"customer_id": 5, "ip": "10.0.0.5", "logged_at": datetime(2025, 1, 1)},
        {"customer_id": 5, "ip": "10.0.0.5", "logged_at": datetime(2025, 1, 1)},  # a duplicate
        {"customer_id": 5, "ip": "10.0.0.5", "logged_at": datetime(2026, 5, 1)},
        {"customer_id": 4, "ip": "10.0.0.4", "logged_at": datetime(2026, 5, 20)},
        {"customer_id": 3, "ip": "10.0.0.3", "logged_at": datetime(2025, 1, 1)},
    ],
}

DELETED = {
    "tickets": {1, 9, 10, 12, 32, 40},
    "ticket_messages": {1, 3, 5},
    "invoices": {2},
    "customers": {2},
}
ANONYMISED = {"tickets": {13, 20, 21}, "customers": {1, 5}}

#: (deleted, anonymised, held) per (rule, table)
COUNTS = {
    ("support", "ticket_tags"): (3, 0, 0),
    ("support", "ticket_messages"): (3, 0, 1),
    ("support", "tickets"): (6, 3, 1),
    ("billing", "invoices"): (1, 0, 3),
    ("logs", "access_log"): (3, 0, 1),
    ("contacts", "customers"): (1, 2, 1),
}


def fate(table: str, row: Row) -> Row | None:
    """What the sweep at NOW must leave of each row."""
    if table == "ticket_tags":
        return None if row["ticket_id"] in (1, 20) else row
    if table == "access_log":
        old = str(row["logged_at"]) < "2026-03-03"
        return None if old and row["customer_id"] != 3 else row
    key = row.get("id")
    if key in DELETED.get(table, set()):
        return None
    if key in ANONYMISED.get(table, set()):
        if table == "tickets":
            return {**row, "subject": R}
        return {**row, "email": R, "name": R}
    return row
