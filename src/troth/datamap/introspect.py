"""A data map proposed from a live schema: tables, columns, keys, and guesses marked for review.

Only the schema is read, never a row. What a careful person would propose, from names (in any case
style, see :mod:`troth.datamap.guesses`) and the schema's shape:

* the *main person table* (a person-like name with an e-mail column, else the e-mail table most
  tables point at): its e-mail and phone columns are the ``email``/``phone`` identities;
* each table gets a :class:`Role`: the person table; *other subjects* (employees, agents,
  contacts: tables of people of another kind, reached by their own identity such as
  ``employee_email``); rows *owned* by a person (``orders -> customers``, ``invoice lines ->
  invoices``); many-to-many *links*; *hubs* (tenants, organisations, workspaces, anything most
  tables point at); and *lookups* (countries, products, tags: no person's rows);
* each foreign key a :class:`~troth.datamap.model.RefKind`: ``owns`` only down an ownership chain
  of one person (so a request never fans out to other people's rows), ``same_person`` for a
  one-to-one extension of the person, ``link`` into a link table, ``refers`` for everything else
  (hubs, other subjects, lookups, self-references, a second person on the same row);
* ``scope`` where the person's rows carry a tenant-like hub (``tenant_id -> tenants``);
* one retention timestamp candidate per table of a person (the last activity first).

Every proposal is marked ``guess: true`` (on the field) or explained in the table's
``description`` (the table has no ``guess`` key); a person reviews them and removes the marks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from troth.connectors.base import ForeignKeyInfo, SchemaInfo, TableInfo
from troth.datamap.guesses import (
    ACTOR_WORDS,
    ADDRESS_CATEGORIES,
    HUB_NOUNS,
    OWNER_WORDS,
    PEOPLE_NOUNS,
    PERSON_NOUNS,
    STAFF_NOUNS,
    TENANT_COLUMNS,
    Guess,
    Scope,
    guess_column,
    is_json,
    is_time_type,
    singular,
    snake,
    timestamp_rank,
    words,
)
from troth.datamap.model import (
    DataMap,
    Dataset,
    IdentityKind,
    IdentitySpec,
    MapField,
    Reference,
    RefKind,
    System,
    Table,
)

__all__ = ["Guess", "Proposal", "Role", "Shape", "analyse", "guess_column", "propose", "skeleton"]

_EMAIL = "user.contact.email"
_PHONE = "user.contact.phone_number"


class Role(StrEnum):
    """What a table is, for a data-subject request."""

    person = "person"
    subject = "other subject"
    owned = "owned"
    link = "link"
    hub = "hub"
    lookup = "lookup"


_PERSON_ROWS = frozenset({Role.person, Role.subject, Role.owned, Role.link})


def noun(table: str) -> str:
    """The singular of a table name's last word: ``crm_contacts`` -> ``contact``."""
    w = words(table)
    return singular(w[-1]) if w else table.lower()


def _id(text: str) -> str:
    out = re.sub(r"[^a-z0-9_]", "_", snake(text)).strip("_") or "x"
    return out if out[0].isalpha() else f"t_{out}"


@dataclass(frozen=True)
class RefGuess:
    kind: RefKind
    note: str


@dataclass
class Shape:
    """What the schema's shape says: each table's role, owners, scopes and reference kinds."""

    schema: SchemaInfo
    person: TableInfo | None
    roles: dict[str, Role] = field(default_factory=dict)
    #: owned and link tables: the person or other-subject table whose rows they are
    owner: dict[str, str] = field(default_factory=dict)
    #: one line per table: why it has its role
    why: dict[str, str] = field(default_factory=dict)
    #: table -> {scope name: column}
    scopes: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (table, referencing columns) -> kind and reason
    refs: dict[tuple[str, tuple[str, ...]], RefGuess] = field(default_factory=dict)

    def role(self, table: str) -> Role:
        return self.roles.get(table, Role.lookup)


def _guesses(t: TableInfo) -> dict[str, Guess]:
    return {c.name: g for c in t.columns if (g := guess_column(c.name, c.type))}


def _has(t: TableInfo, *categories: str) -> bool:
    return any(g.category in categories for g in _guesses(t).values())


def main_person_table(schema: SchemaInfo) -> TableInfo | None:
    """The table people are most likely registered in: it has an e-mail column; a person-like
    name wins (a tenant or staff table last), then the most foreign keys pointing at it."""
    with_email = [t for t in schema.tables if _has(t, _EMAIL)]
    if not with_email:
        return None
    incoming = _incoming(schema)

    def rank(t: TableInfo) -> tuple[int, int, str]:
        n = noun(t.name)
        by_name = PERSON_NOUNS.index(n) if n in PERSON_NOUNS else 99
        if n in HUB_NOUNS - {"account"} or n in STAFF_NOUNS:
            by_name = 200
        return by_name, -len(incoming[t.name]), t.name

    return min(with_email, key=rank)


def _incoming(schema: SchemaInfo) -> dict[str, set[str]]:
    """table -> the other tables with a foreign key to it."""
    out: dict[str, set[str]] = {t.name: set() for t in schema.tables}
    for t in schema.tables:
        for fk in t.foreign_keys:
            if fk.ref_table in out and fk.ref_table != t.name:
                out[fk.ref_table].add(t.name)
    return out


def _is_actor(columns: tuple[str, ...]) -> bool:
    return any(set(words(c)) & ACTOR_WORDS for c in columns)


def _names_person(columns: tuple[str, ...], person: TableInfo) -> bool:
    """A reference column that names the person (``customer_id``, ``user_id``, ``CustomerId``)."""
    wanted = {noun(person.name), "user", "customer", "client", "person", "member"}
    return any(set(map(singular, words(c))) & wanted for c in columns)


def _is_link(t: TableInfo) -> bool:
    """A key made of two references, or nothing but two references and timestamps."""
    fk_cols = [fk.columns[0] for fk in t.foreign_keys if len(fk.columns) == 1]
    if len(set(fk_cols)) != 2:
        return False
    if len(t.primary_key) == 2 and set(t.primary_key) == set(fk_cols):
        return True
    rest = [c for c in t.columns if c.name not in fk_cols]
    stamps = all((g := guess_column(c.name, c.type)) and g.timestamp for c in rest)
    return stamps and set(t.primary_key) <= set(fk_cols)


def analyse(schema: SchemaInfo) -> Shape:
    """Roles, owners, scopes and reference kinds of every table of ``schema``."""
    person = main_person_table(schema)
    shape = Shape(schema, person)
    incoming = _incoming(schema)
    tables = {t.name: t for t in schema.tables}
    fk_tables = [t.name for t in schema.tables if t.foreign_keys]
    if person is not None:
        shape.roles[person.name] = Role.person
        shape.why[person.name] = "the main person table: its e-mail and phone identify a request"
    above = {fk.ref_table for fk in person.foreign_keys} if person else set()

    def refs_person_by_name(t: TableInfo) -> bool:
        return person is not None and any(
            fk.ref_table == person.name and _names_person(fk.columns, person)
            for fk in t.foreign_keys
        )

    def own_name(t: TableInfo) -> bool:
        """``customer_contacts``: the person's own contact details, not other people."""
        return person is not None and noun(person.name) in map(singular, words(t.name)[:-1])

    for t in schema.tables:
        if t.name in shape.roles:
            continue
        n = noun(t.name)
        others = [x for x in fk_tables if x != t.name]
        shared = len(incoming[t.name]) >= 3 and 2 * len(incoming[t.name]) > len(others)
        if n in HUB_NOUNS and not (n == "account" and refs_person_by_name(t)):
            shape.roles[t.name] = Role.hub
            shape.why[t.name] = f"a hub ({n}-like, shared by many people): never reached"
        elif t.name in above and len(incoming[t.name]) >= 3 and not refs_person_by_name(t):
            shape.roles[t.name] = Role.hub
            shape.why[t.name] = "a hub (the person rows and most tables point at it): never reached"
        elif shared and not refs_person_by_name(t):
            shape.roles[t.name] = Role.hub
            shape.why[t.name] = "a hub (most tables point at it): never reached"
        elif (
            n in PEOPLE_NOUNS
            and not own_name(t)
            and _has(t, _EMAIL, _PHONE, "user.name.first", "user.name.last", "user.name")
        ):
            shape.roles[t.name] = Role.subject
            shape.why[t.name] = (
                f"people of another kind than {person.name}: reached by their own identity, "
                f"never from a {person.name} row"
                if person
                else "people: reached by their own identity"
            )
        elif _is_link(t):
            shape.roles[t.name] = Role.link
    _own(shape, tables)
    for t in schema.tables:
        if t.name not in shape.roles:
            shape.roles[t.name] = Role.lookup
            shape.why[t.name] = "not a person's rows (a lookup or shared table): never reached"
    for t in schema.tables:
        for fk in t.foreign_keys:
            shape.refs[t.name, fk.columns] = _kind(shape, t, fk)
    _link_owners(shape)
    _scopes(shape)
    return shape


def _own(shape: Shape, tables: dict[str, TableInfo]) -> None:
    """Owned tables: down the foreign keys from the person table, then from each other subject."""
    roots = [r for r, role in shape.roles.items() if role is Role.person]
    roots += sorted(r for r, role in shape.roles.items() if role is Role.subject)
    for root in roots:
        changed = True
        while changed:
            changed = False
            for t in shape.schema.tables:
                if t.name in shape.roles:
                    continue
                for fk in t.foreign_keys:
                    parent = fk.ref_table
                    if parent == t.name or _is_actor(fk.columns) or parent not in tables:
                        continue
                    if parent == root or shape.owner.get(parent) == root:
                        shape.roles[t.name] = Role.owned
                        shape.owner[t.name] = root
                        via = f"{', '.join(fk.columns)} -> {parent}"
                        shape.why[t.name] = f"rows of one person of {root} (through {via})"
                        changed = True
                        break


def _kind(shape: Shape, t: TableInfo, fk: ForeignKeyInfo) -> RefGuess:
    parent, cols = fk.ref_table, fk.columns
    role, target = shape.role(t.name), shape.role(parent)
    if parent == t.name:
        return RefGuess(RefKind.refers, "a self-reference (another row of this table)")
    if target is Role.hub:
        return RefGuess(RefKind.refers, f"{parent} is a hub, shared by many people")
    if role is Role.link:
        if target in _PERSON_ROWS and target is not Role.link:
            return RefGuess(
                RefKind.link, "a many-to-many link row: erased whole, never walked past"
            )
        return RefGuess(RefKind.refers, f"{parent} is a lookup table, not a person's rows")
    if role is Role.owned:
        root = shape.owner[t.name]
        if _is_actor(cols):
            return RefGuess(RefKind.refers, f"{', '.join(cols)} names someone acting on the row")
        if parent == root:
            if _first_person_ref(t, root) != cols:
                return RefGuess(RefKind.refers, f"a second reference to {root}: another person")
            if set(cols) == set(t.primary_key):
                return RefGuess(RefKind.same_person, f"one-to-one: the key is the {parent} key")
            return RefGuess(RefKind.owns, f"this row belongs to the {parent} row's person")
        if shape.owner.get(parent) == root:
            return RefGuess(RefKind.owns, f"this row belongs to the {parent} row's person")
    if target is Role.subject:
        return RefGuess(RefKind.refers, f"{parent} holds people of another kind")
    if role is Role.subject:
        return RefGuess(RefKind.refers, f"{t.name} holds people of another kind than {parent}")
    if role is Role.person:
        return RefGuess(RefKind.refers, f"{parent} is a lookup table, not a person's rows")
    if target in (Role.owned, Role.person):
        if role is Role.owned:
            return RefGuess(RefKind.refers, f"{parent} rows belong to another kind of person")
        return RefGuess(RefKind.refers, f"{t.name} rows are not a person's ({role.value})")
    return RefGuess(RefKind.refers, f"{parent} is a lookup table, not a person's rows")


def _first_person_ref(t: TableInfo, root: str) -> tuple[str, ...]:
    """Of several references to the owner table, the one that names the person (else the first)."""
    fks = [fk for fk in t.foreign_keys if fk.ref_table == root and not _is_actor(fk.columns)]
    wanted = {noun(root), *OWNER_WORDS}
    named = [fk for fk in fks if set(map(singular, words(" ".join(fk.columns)))) & wanted]
    return (named or fks)[0].columns


def _link_owners(shape: Shape) -> None:
    for t in shape.schema.tables:
        if shape.roles[t.name] is not Role.link:
            continue
        sides = [
            fk.ref_table
            for fk in t.foreign_keys
            if shape.refs[t.name, fk.columns].kind is RefKind.link
        ]
        for side in sides:
            root = side if shape.role(side) in (Role.person, Role.subject) else shape.owner[side]
            shape.owner.setdefault(t.name, root)
        ends = " and ".join(fk.ref_table for fk in t.foreign_keys)
        shape.why[t.name] = (
            f"many-to-many link rows between {ends}: erased whole"
            if sides
            else f"link rows between {ends}, none a person's: never reached"
        )
        if not sides:
            shape.roles[t.name] = Role.lookup


def _scopes(shape: Shape) -> None:
    """``scope`` where the person rows carry a tenant-like hub, on every table of a person."""
    person = shape.person
    if person is None:
        return
    by_hub: dict[str, str] = {}  # hub table -> scope name
    by_column: dict[str, str] = {}  # tenant-like column (no foreign key) -> scope name
    fk_cols = {c for fk in person.foreign_keys for c in fk.columns}
    for fk in person.foreign_keys:
        if len(fk.columns) == 1 and shape.role(fk.ref_table) is Role.hub:
            by_hub[fk.ref_table] = _id(noun(fk.ref_table))
    for c in person.columns:
        if snake(c.name) in TENANT_COLUMNS and c.name not in fk_cols:
            by_column[snake(c.name)] = _id("_".join(words(c.name)[:-1]))
    for t in shape.schema.tables:
        if shape.roles[t.name] not in _PERSON_ROWS:
            continue
        scope: dict[str, str] = {}
        for fk in t.foreign_keys:
            if len(fk.columns) == 1 and fk.ref_table in by_hub:
                scope.setdefault(by_hub[fk.ref_table], fk.columns[0])
        for c in t.columns:
            if snake(c.name) in by_column:
                scope.setdefault(by_column[snake(c.name)], c.name)
        if scope:
            shape.scopes[t.name] = scope


@dataclass
class Proposal:
    """The proposed map and the shape it was drawn from."""

    datamap: DataMap
    shape: Shape


def propose(
    schema: SchemaInfo, *, dataset: str, connection: str, system: str | None = None
) -> Proposal:
    """A data map for one dataset, from its schema, with every guess marked."""
    shape = analyse(schema)
    identities: dict[str, IdentitySpec] = {}
    tables = [_table(shape, t, dataset, identities) for t in schema.tables]
    ds = Dataset(name=dataset, connection=connection, tables=tables)
    dm = DataMap(identities=identities, systems=[System(name=system or dataset, datasets=[ds])])
    return Proposal(dm, shape)


def skeleton(
    schema: SchemaInfo, *, dataset: str, connection: str, system: str | None = None
) -> DataMap:
    """The proposed data map (see :func:`propose`)."""
    return propose(schema, dataset=dataset, connection=connection, system=system).datamap


def _categories(shape: Shape, t: TableInfo) -> dict[str, str]:
    """column -> proposed category, where the table's role allows the guess."""
    role = shape.roles[t.name]
    allowed = {Scope.anywhere}
    if role in _PERSON_ROWS:
        allowed.add(Scope.person_rows)
    if role in (Role.person, Role.subject):
        allowed.add(Scope.people)
    out = {
        name: g.category
        for name, g in _guesses(t).items()
        if g.category and g.scope in allowed and not g.needs_address
    }
    has_address = bool(set(out.values()) & ADDRESS_CATEGORIES)
    for name, g in _guesses(t).items():
        if g.category and g.needs_address and g.scope in allowed and has_address:
            out[name] = g.category
    return out


def _retention(shape: Shape, t: TableInfo, personal: bool) -> tuple[str | None, list[str]]:
    """The proposed retention timestamp column of a table of a person, and the other candidates."""
    if shape.roles[t.name] not in _PERSON_ROWS and not personal:
        return None, []
    cands = [
        (timestamp_rank(c.name, t.name), i, c.name)
        for i, c in enumerate(t.columns)
        if (g := guess_column(c.name, c.type))
        and g.timestamp
        and (c.type is None or is_time_type(c.type))
    ]
    cands = sorted(c for c in cands if c[0] < 5)
    return (cands[0][2] if cands else None), [c[2] for c in cands[1:]]


def _table(shape: Shape, t: TableInfo, dataset: str, identities: dict[str, IdentitySpec]) -> Table:
    role = shape.roles[t.name]
    cats = _categories(shape, t)
    stamp, other_stamps = _retention(shape, t, bool(cats))
    refs: dict[str, list[Reference]] = {}
    for fk in t.foreign_keys:
        guess = shape.refs[t.name, fk.columns]
        for col, ref_col in zip(fk.columns, fk.ref_columns, strict=False):
            refs.setdefault(col, []).append(
                Reference(
                    field=f"{dataset}.{fk.ref_table}.{ref_col}",
                    kind=guess.kind,
                    note=f"guess: {guess.note}",
                )
            )
    fields = []
    for c in t.columns:
        cat = cats.get(c.name)
        identity = _identity(shape, t, cat, identities)
        json_hint = (
            "guess: JSON; personal values inside it are not guessed (rows are never read): "
            "declare them under `json:` (path, categories, identity)"
            if is_json(c.name, c.type) and role in _PERSON_ROWS
            else None
        )
        fields.append(
            MapField(
                name=c.name,
                data_type=c.type,
                primary_key=c.name in t.primary_key,
                references=refs.get(c.name, []),
                categories=[cat] if cat else [],
                retention_timestamp=c.name == stamp,
                identity=identity,
                description=json_hint,
                guess=bool(cat or identity or c.name == stamp or c.name in refs or json_hint),
            )
        )
    notes = [shape.why[t.name]]
    scope = shape.scopes.get(t.name, {})
    notes += [f"scope {name} by {col}" for name, col in scope.items()]
    if stamp and other_stamps:
        notes.append(f"other timestamps: {', '.join(other_stamps)}")
    if not t.primary_key:
        notes.append("no primary key")
    subject = "employee" if role is Role.subject and noun(t.name) in STAFF_NOUNS else None
    return Table(
        name=t.name,
        description="guess: " + "; ".join(notes),
        subject=subject,
        scope=scope,
        fields=fields,
    )


def _identity(
    shape: Shape, t: TableInfo, category: str | None, identities: dict[str, IdentitySpec]
) -> str | None:
    """``email``/``phone`` on the person table; ``<noun>_email``/``_phone`` on other subjects."""
    if category not in (_EMAIL, _PHONE):
        return None
    kind = IdentityKind.email if category == _EMAIL else IdentityKind.phone
    role = shape.roles[t.name]
    if role is Role.person:
        return kind.value
    if role is not Role.subject:
        return None
    name = _id(f"{noun(t.name) if len(words(t.name)) == 1 else singular(snake(t.name))}_{kind}")
    identities[name] = IdentitySpec(kind=kind)
    return name
