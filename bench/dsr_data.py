"""Data of the DSR benchmark (bench_dsr.py): schema, map, generation, subjects, hand-written SQL.

Two parts in one PostgreSQL database and one data map:

- a shop (the mydigisoft-like data, not scoped): customers, two addresses each, 10 orders each,
  3 items per order; found by the ``email`` identity, compared in its normal form
  (``lower(trim(email))``, served by an expression index);
- a multi-tenant part (scoped by ``tenant``): 100 tenants, members, 10 events per member in
  ``member_events`` whose primary key is ``(tenant_id, member_id, seq)``; found by the
  ``member_email`` identity with ``match: stored`` (the addresses are stored normalised, so the
  plain ``(tenant_id, email)`` index serves it). The same e-mail exists in two tenants.

Subjects are added after the generated rows with deterministic ids, so re-creating a subject
gives byte-identical rows (the effect checks hash them). Persistent subjects (read by the access
measures) are made once; per-round subjects (erased) are re-created before every round.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

#: the tenant of the scoped subjects, and the other tenant holding the same e-mail addresses
TENANT, OTHER_TENANT = 7, 8
HEAVY_ORDERS = 5_000  # 1 + 2 + 5,000 + 15,000 = 20,003 rows
EXPORT_ORDERS = 24_999  # 1 + 2 + 24,999 + 74,997 = 99,999 rows
SCOPED_EVENTS = 30_000  # 1 + 30,000 rows in the tenant
TWIN_EVENTS = 1_000  # the same e-mail in the other tenant (persistent subject)
ROUND_TWIN_EVENTS = 200  # the same, for each erased scoped subject
TENANTS = 100

POLICY = """\
troth: 1
policy: {id: bench, version: "1.0"}
organisation: {name: Example Bench Shop}
data_subjects: [{key: customer}]
data_categories:
  - key: user.name
  - key: user.contact.email
  - key: user.contact.phone_number
  - key: user.contact.address
  - key: user.content.private
  - key: user.device.ip_address
purposes:
  - id: orders
    name: Complete orders
    use: essential.service
    legal_basis: contract
    categories: [user.name, user.contact, user.content.private, user.device.ip_address]
retention:
  - {id: customer_data, categories: [user.contact, user.name], period: 2 years, trigger: last_activity}
"""

DATAMAP = """\
troth: 1
kind: datamap
identities:
  email: {kind: email}
  member_email: {kind: email}
systems:
  - name: shop
    datasets:
      - name: shop
        connection: bench_db
        tables:
          - name: customers
            fields:
              - {name: id, primary_key: true}
              - {name: email, identity: email, categories: [user.contact.email], mask: hash}
              - {name: first_name, categories: [user.name], mask: redact}
              - {name: last_name, categories: [user.name], mask: redact}
              - {name: phone, categories: [user.contact.phone_number], mask: "null"}
          - name: addresses
            erase: delete_row
            fields:
              - {name: id, primary_key: true}
              - {name: customer_id, references: [{field: customers.id, kind: owns}]}
              - {name: street, categories: [user.contact.address.street]}
          - name: orders
            fields:
              - {name: id, primary_key: true}
              - {name: customer_id, references: [{field: customers.id, kind: owns}]}
              - {name: note, categories: [user.content.private], mask: redact}
          - name: order_items
            fields:
              - {name: id, primary_key: true}
              - {name: order_id, references: [{field: orders.id, kind: owns}]}
              - {name: gift_message, categories: [user.content.private], mask: redact}
          - name: tenants
            fields:
              - {name: id, primary_key: true}
              - {name: name}
          - name: members
            scope: {tenant: tenant_id}
            fields:
              - {name: id, primary_key: true}
              - {name: tenant_id, references: [{field: tenants.id, kind: refers}]}
              - {name: email, identity: member_email, match: stored, categories: [user.contact.email], mask: hash}
              - {name: display_name, categories: [user.name], mask: redact}
          - name: member_events
            scope: {tenant: tenant_id}
            erase: delete_row
            fields:
              - {name: tenant_id, primary_key: true, references: [{field: tenants.id, kind: refers}]}
              - {name: member_id, primary_key: true, references: [{field: members.id, kind: owns}]}
              - {name: seq, primary_key: true}
              - {name: kind}
              - {name: body, categories: [user.content.private]}
              - {name: ip, categories: [user.device.ip_address]}
"""

SCHEMA = [
    "CREATE TABLE customers (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, "
    "first_name VARCHAR(80), last_name VARCHAR(80), phone VARCHAR(40))",
    "CREATE TABLE addresses (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL "
    "REFERENCES customers(id), street VARCHAR(200), city VARCHAR(80), zip VARCHAR(10))",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL REFERENCES "
    "customers(id), status VARCHAR(20), total NUMERIC(10,2), note VARCHAR(200))",
    "CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL REFERENCES "
    "orders(id), sku VARCHAR(40), qty INT, price NUMERIC(10,2), gift_message VARCHAR(200))",
    "CREATE TABLE tenants (id INT PRIMARY KEY, name VARCHAR(80) NOT NULL)",
    "CREATE TABLE members (id BIGINT PRIMARY KEY, tenant_id INT NOT NULL REFERENCES tenants(id), "
    "email VARCHAR(255) NOT NULL, display_name VARCHAR(80))",
    "CREATE TABLE member_events (tenant_id INT NOT NULL REFERENCES tenants(id), member_id BIGINT "
    "NOT NULL REFERENCES members(id), seq INT NOT NULL, kind VARCHAR(20) NOT NULL, "
    "body VARCHAR(200), ip VARCHAR(45), PRIMARY KEY (tenant_id, member_id, seq))",
]
INDEXES = [
    "CREATE INDEX ix_customers_email ON customers (email)",
    # the form troth compares (match: normalise, the default) and the hand SQL too
    "CREATE INDEX ix_customers_email_form ON customers (lower(trim(email)))",
    "CREATE INDEX ix_addresses_customer ON addresses (customer_id)",
    "CREATE INDEX ix_orders_customer ON orders (customer_id)",
    "CREATE INDEX ix_items_order ON order_items (order_id)",
    "CREATE INDEX ix_members_tenant_email ON members (tenant_id, email)",
    "CREATE INDEX ix_events_member ON member_events (member_id)",
]
TABLES = ("customers", "addresses", "orders", "order_items", "tenants", "members", "member_events")


@dataclass(frozen=True)
class Sizes:
    """Rows generated at a scale (1: 100k customers, 1M orders, 3M items, 100k members)."""

    customers: int
    members: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        return cls(int(100_000 * scale), int(100_000 * scale))

    @property
    def orders(self) -> int:
        return 10 * self.customers

    @property
    def events(self) -> int:
        return 10 * self.members


@dataclass(frozen=True)
class ShopSubject:
    """A customer after the generated ones: ids from fixed starts, in slot order."""

    label: str
    orders: int
    id: int
    order0: int  # orders order0+1 .. order0+orders
    item0: int
    address0: int

    @property
    def email(self) -> str:
        return f"{self.label}@example.com"

    @property
    def rows(self) -> int:
        return 1 + 2 + self.orders + 3 * self.orders


@dataclass(frozen=True)
class MemberSubject:
    """A member in TENANT with ``events`` events, and a twin with the same e-mail in
    OTHER_TENANT with ``twin_events`` events (which no request in TENANT may touch)."""

    label: str
    events: int
    twin_events: int
    id: int  # the twin is id + 1

    @property
    def email(self) -> str:
        return f"{self.label}@example.com"

    @property
    def rows(self) -> int:
        return 1 + self.events


def shop_subjects(
    sizes: Sizes, labels: list[tuple[str, int]], persistent: bool
) -> list[ShopSubject]:
    """Subjects in the persistent region (just after the generated rows) or the round region."""
    n, o = sizes.customers, sizes.orders
    cid, oid, iid, aid = (n, o, 3 * o, 2 * n) if persistent else _round_base(sizes)
    out = []
    for label, orders in labels:
        cid += 1
        out.append(ShopSubject(label, orders, cid, oid, iid, aid))
        oid, iid, aid = oid + orders, iid + 3 * orders, aid + 2
    return out


def _round_base(sizes: Sizes) -> tuple[int, int, int, int]:
    n, o = sizes.customers, sizes.orders
    return n + 1_000, o + 1_000_000, 3 * o + 3_000_000, 2 * n + 1_000


def member_subjects(
    sizes: Sizes, labels: list[tuple[str, int, int]], persistent: bool
) -> list[MemberSubject]:
    mid = sizes.members if persistent else sizes.members + 1_000
    out = []
    for label, events, twin in labels:
        out.append(MemberSubject(label, events, twin, mid + 1))
        mid += 2
    return out


PERSISTENT_SHOP = [("heavy-a", HEAVY_ORDERS), ("export", EXPORT_ORDERS)]
PERSISTENT_MEMBERS = [("scoped-a", SCOPED_EVENTS, TWIN_EVENTS)]


def generate(conn: psycopg.Connection, sizes: Sizes) -> None:
    """Create the schema and the generated rows (set-based), the persistent subjects, indexes."""
    n, o, m = sizes.customers, sizes.orders, sizes.members
    with conn.transaction():
        for stmt in SCHEMA:
            conn.execute(stmt)
        conn.execute(
            "INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'Ada', 'Example', "
            f"'+1-555-01' || lpad(mod(g, 100)::text, 2, '0') FROM generate_series(1, {n}) g"
        )
        conn.execute(
            f"INSERT INTO addresses SELECT g, 1 + mod(g, {n}), g || ' Example Street', "
            f"'Springfield', '12345' FROM generate_series(1, {2 * n}) g"
        )
        conn.execute(
            f"INSERT INTO orders SELECT g, 1 + mod(g, {n}), 'paid', 10 + mod(g, 90), "
            f"'leave at the door' FROM generate_series(1, {o}) g"
        )
        conn.execute(
            f"INSERT INTO order_items SELECT g, 1 + mod(g, {o}), 'SKU-' || mod(g, 12), 1, 9.99, "
            f"'Happy birthday' FROM generate_series(1, {3 * o}) g"
        )
        conn.execute(
            f"INSERT INTO tenants SELECT g, 'Tenant ' || g FROM generate_series(1, {TENANTS}) g"
        )
        conn.execute(
            f"INSERT INTO members SELECT g, 1 + mod(g, {TENANTS}), 'm' || g || '@example.com', "
            f"'Member Example' FROM generate_series(1, {m}) g"
        )
        conn.execute(
            f"INSERT INTO member_events SELECT 1 + mod(1 + mod(g - 1, {m}), {TENANTS}), "
            f"1 + mod(g - 1, {m}), 1 + (g - 1) / {m}, 'login', 'Signed in from a new device', "
            f"'192.0.2.' || mod(g, 250) FROM generate_series(1, {10 * m}) g"
        )
        for stmt in INDEXES:
            conn.execute(stmt)
        insert_shop(conn, shop_subjects(sizes, PERSISTENT_SHOP, persistent=True))
        insert_members(conn, member_subjects(sizes, PERSISTENT_MEMBERS, persistent=True))
        conn.execute("CREATE TABLE bench_ready (ok INT)")


def insert_shop(conn: psycopg.Connection, subjects: list[ShopSubject]) -> None:
    for s in subjects:
        conn.execute(
            "INSERT INTO customers VALUES (%s, %s, 'Heavy', 'Example', '+1-555-0199')",
            (s.id, s.email),
        )
        conn.execute(
            "INSERT INTO addresses SELECT %s + g, %s, 'Heavy Street', 'Springfield', '12345' "
            "FROM generate_series(1, 2) g",
            (s.address0, s.id),
        )
        conn.execute(
            "INSERT INTO orders SELECT %s + g, %s, 'paid', 20, 'ring twice' "
            "FROM generate_series(1, %s) g",
            (s.order0, s.id, s.orders),
        )
        conn.execute(
            "INSERT INTO order_items SELECT %s + g, %s + 1 + ((g - 1) / 3), 'SKU-1', 1, 9.99, "
            "'Enjoy' FROM generate_series(1, %s) g",
            (s.item0, s.order0, 3 * s.orders),
        )


def insert_members(conn: psycopg.Connection, subjects: list[MemberSubject]) -> None:
    for s in subjects:
        for mid, tenant, events in (
            (s.id, TENANT, s.events),
            (s.id + 1, OTHER_TENANT, s.twin_events),
        ):
            conn.execute(
                "INSERT INTO members VALUES (%s, %s, %s, 'Heavy Member')", (mid, tenant, s.email)
            )
            conn.execute(
                "INSERT INTO member_events SELECT %s, %s, g, 'note', 'Called about my account', "
                "'198.51.100.7' FROM generate_series(1, %s) g",
                (tenant, mid, events),
            )


def reset_round(
    conn: psycopg.Connection,
    sizes: Sizes,
    shop: list[ShopSubject],
    members: list[MemberSubject],
) -> None:
    """Delete every per-round subject and insert ``shop`` and ``members`` (one transaction)."""
    c, o, i, a = _round_base(sizes)
    with conn.transaction():
        conn.execute("DELETE FROM order_items WHERE id > %s", (i,))
        conn.execute("DELETE FROM orders WHERE id > %s", (o,))
        conn.execute("DELETE FROM addresses WHERE id > %s", (a,))
        conn.execute("DELETE FROM customers WHERE id > %s", (c,))
        conn.execute("DELETE FROM member_events WHERE member_id > %s", (sizes.members + 1_000,))
        conn.execute("DELETE FROM members WHERE id > %s", (sizes.members + 1_000,))
        insert_shop(conn, shop)
        insert_members(conn, members)


def settle(conn: psycopg.Connection) -> None:
    """What autovacuum would do between rounds (it is off on this server), and a checkpoint so
    that no checkpoint falls inside a timed sample."""
    for t in ("customers", "addresses", "orders", "order_items", "members", "member_events"):
        conn.execute(f"VACUUM (ANALYZE) {t}")
    conn.execute("CHECKPOINT")


# --- effects, hashed ------------------------------------------------------------------------------


def shop_digest(conn: psycopg.Connection, s: ShopSubject) -> str:
    """One hash of every row the subject had (by id: erased e-mails no longer find them)."""
    parts = []
    for table, lo, hi in (
        ("customers", s.id - 1, s.id),
        ("addresses", s.address0, s.address0 + 2),
        ("orders", s.order0, s.order0 + s.orders),
        ("order_items", s.item0, s.item0 + 3 * s.orders),
    ):
        row = conn.execute(
            f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t "
            "WHERE t.id > %s AND t.id <= %s",
            (lo, hi),
        ).fetchone()
        assert row is not None
        parts.append(f"{table}:{row[0]}:{row[1]}")
    return ";".join(parts)


def member_digest(conn: psycopg.Connection, member_id: int) -> str:
    member = conn.execute(
        "SELECT md5(t::text) FROM members t WHERE id = %s", (member_id,)
    ).fetchone()
    events = conn.execute(
        "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.seq)) FROM member_events t "
        "WHERE member_id = %s",
        (member_id,),
    ).fetchone()
    assert events is not None
    return f"members:{member[0] if member else None};member_events:{events[0]}:{events[1]}"
