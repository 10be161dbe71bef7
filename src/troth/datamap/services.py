"""The data map's ``services:`` section: SaaS HTTP APIs declared in YAML, not coded per service.

A service has a base URL (its connection, ``TROTH_CONN_<NAME>``), an authentication whose secrets
are named environment variables (never values in the file), retry and timeout settings, and
resources: how to find the person's items by an identity (with pagination), the field that
identifies an item, and how to erase one. See docs/connectors.md for a complete example.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from troth.policy.model import CategoryKey

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
EnvName = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=120)]
DottedPath = Annotated[
    str, Field(pattern=r"^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$", max_length=200)
]
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class _Node(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    _path: tuple[str | int, ...] = PrivateAttr(default=())


class HttpAuth(_Node):
    """``bearer`` (``token``), ``header`` (``token`` in the named ``header``), ``basic``
    (``username`` and ``password``) or OAuth2 client
    credentials (``token_url``, ``client_id``, ``client_secret``, ``scope``); every secret is the
    NAME of an environment variable."""

    type: Literal["none", "bearer", "header", "basic", "oauth2_client_credentials"] = "none"
    token: EnvName | None = None
    #: for ``header``: the header that carries ``token`` (``X-Shopify-Access-Token``)
    header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$", max_length=80)] | None = None
    username: str | None = None
    #: basic auth whose user name is the secret (an API key): its variable's name
    username_env: EnvName | None = None
    password: EnvName | None = None
    #: a password that is not a secret (Freshdesk's ``X`` beside an API key user name)
    password_text: str | None = None
    token_url: str | None = None
    client_id: EnvName | None = None
    client_secret: EnvName | None = None
    scope: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> HttpAuth:
        needs = {
            "bearer": ("token",),
            "header": ("token", "header"),
            "basic": ("username", "password"),
            "oauth2_client_credentials": ("token_url", "client_id", "client_secret"),
        }.get(self.type, ())
        missing = [n for n in needs if getattr(self, n) is None]
        if self.type == "basic":
            user = self.username is not None or self.username_env is not None
            pw = self.password is not None or self.password_text is not None
            missing = [n for n, ok in (("username", user), ("password", pw)) if not ok]
        if missing:
            raise ValueError(f"auth {self.type} needs {', '.join(missing)}")
        return self


class HttpRequest(_Node):
    """One request: ``path`` and the string values of ``params`` and ``json`` may hold
    placeholders: ``{<identity>}`` (the person's value) in ``find``; in ``erase``, ``{id}`` (the
    item's ``id_field``) and ``{<field>}`` (any top-level text or number field of the item)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: Annotated[str, Field(pattern=r"^/", max_length=500)]
    params: dict[str, str] = Field(default_factory=dict)
    json_body: dict[str, Any] | None = Field(default=None, alias="json")

    model_config = ConfigDict(
        defer_build=True, extra="forbid", str_strip_whitespace=True, populate_by_name=True
    )


class Pagination(_Node):
    """``cursor``: the next page's ``cursor_param`` is the last item's id (``cursor_from: id``) or
    a value at ``cursor_from`` in the body, while ``has_more`` (a body path) is true or the cursor
    is set; ``page``: ``page_param`` counts 1, 2, ... until a page is shorter than ``page_size``;
    ``link``:
    the ``rel="next"`` URL of the ``Link`` header."""

    type: Literal["none", "cursor", "page", "link"] = "none"
    limit_param: str | None = None
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor_param: str | None = None
    cursor_from: DottedPath = "id"
    has_more: DottedPath | None = None
    page_param: str | None = None
    max_pages: Annotated[int, Field(ge=1, le=100_000)] = 1000
    #: where limit, cursor and page go: the query string, or the JSON body (search by POST)
    send_in: Literal["query", "json"] = "query"

    @model_validator(mode="after")
    def _params(self) -> Pagination:
        if self.type == "cursor" and not self.cursor_param:
            raise ValueError("cursor pagination needs cursor_param")
        if self.type == "page" and not (self.page_param and self.limit_param):
            raise ValueError("page pagination needs page_param and limit_param")
        return self


class HttpResource(_Node):
    """Items of one kind the service holds about a person (customers, members, tickets)."""

    name: Id
    label: str | None = None
    categories: list[CategoryKey] = Field(default_factory=list)
    identity: Id
    find: HttpRequest
    items: DottedPath = ""
    pagination: Pagination = Field(default_factory=Pagination)
    id_field: DottedPath = "id"
    erase: HttpRequest | None = None
    #: rectification: ``{id}`` names the item, each other placeholder is a field the request
    #: can set (the new value; an unchanged one is filled from the item, like ``erase``)
    update: HttpRequest | None = None

    @model_validator(mode="after")
    def _placeholders(self) -> HttpResource:
        used = _placeholders(self.find)
        if self.identity not in used:
            raise ValueError(f"find must use the identity placeholder {{{self.identity}}}")
        if self.erase is not None and "id" not in _placeholders(self.erase):
            raise ValueError("erase must name the item with the {id} placeholder")
        if self.update is not None and "id" not in _placeholders(self.update):
            raise ValueError("update must name the item with the {id} placeholder")
        return self


class Service(_Node):
    """A SaaS HTTP API, its base URL from connection ``connection``."""

    name: Id
    connection: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
    description: str | None = None
    auth: HttpAuth = Field(default_factory=HttpAuth)
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    backoff: Annotated[float, Field(ge=0, le=60)] = 0.5
    max_wait: Annotated[float, Field(ge=0, le=3600)] = 60.0
    headers: dict[str, str] = Field(default_factory=dict)
    resources: list[HttpResource] = Field(default_factory=list)
    #: named requests beyond a resource's find and erase (an unsubscribe, an Art. 19 notice);
    #: placeholders: the person's identities (``{email}``) and ``{request_id}``, ``{kind}``,
    #: ``{recipient}``, ``{notice_id}``
    operations: dict[Id, HttpRequest] = Field(default_factory=dict)
    #: a withdrawn consent (its id in the policy) -> the operation that tells the service
    withdrawals: dict[Id, Id] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _operations_declared(self) -> Service:
        for consent, op in self.withdrawals.items():
            if op not in self.operations:
                known = ", ".join(sorted(self.operations)) or "none declared"
                raise ValueError(
                    f"withdrawals.{consent} names operation {op!r}; operations: {known}"
                )
        return self

    @field_validator("headers")
    @classmethod
    def _no_auth_header(cls, value: dict[str, str]) -> dict[str, str]:
        if any(k.lower() == "authorization" for k in value):
            raise ValueError("put credentials under auth (by environment variable name)")
        return value


def placeholders(req: HttpRequest) -> set[str]:
    """The placeholder names a request uses (path, params and JSON body)."""
    return _placeholders(req)


def _placeholders(req: HttpRequest) -> set[str]:
    texts = [req.path, *req.params.values(), *_strings(req.json_body)]
    return {m for t in texts for m in PLACEHOLDER.findall(t)}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
