"""Local servers for HubSpot, Shopify and Freshdesk, each from its API documentation (the
addresses are in examples/services/<name>.yaml). Each holds contacts ``{"id", "email", "name"}``
and answers find, erase, auth failures, 429 and 5xx as its docs describe."""

from __future__ import annotations

import base64
from typing import Any

from .fakeapi import FakeApi, Request, Response

TOKENS = {"hubspot": "pat-na1-troth", "shopify": "shpat_troth", "freshdesk": "fdkey_troth"}
OAUTH_CLIENT = ("troth-client", "troth-secret")


class Store:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        #: (e-mail, subscription id) pairs unsubscribed (HubSpot's communication preferences)
        self.unsubscribed: list[tuple[str, str]] = []

    def add(self, n: int, email: str, name: str) -> None:
        self.items.append({"id": n, "email": email, "name": name})

    def of(self, email: str) -> list[dict[str, Any]]:
        return [i for i in self.items if i["email"] == email]

    def drop(self, ident: str) -> bool:
        before = len(self.items)
        self.items = [i for i in self.items if str(i["id"]) != ident]
        return len(self.items) < before


# --- HubSpot ---------------------------------------------------------------------------------


def hubspot(store: Store) -> FakeApi:
    issued: set[str] = set()

    def auth(req: Request) -> Response | None:
        token = req.headers.get("authorization", "")
        if token in (f"Bearer {TOKENS['hubspot']}", *(f"Bearer {t}" for t in issued)):
            return None
        return Response(401, {"status": "error", "message": "Authentication credentials not "
                              "found.", "category": "INVALID_AUTHENTICATION"})  # fmt: skip

    def failure(status: int) -> Response:
        if status == 429:
            return Response(429, {"status": "error", "message": "You have reached your secondly "
                                  "limit.", "errorType": "RATE_LIMIT", "policyName": "SECONDLY"})  # fmt: skip
        if status == 404:
            return Response(
                404, {"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}
            )
        return Response(status, {"status": "error", "message": "internal error"})

    def search(req: Request) -> Response:
        body = req.body or {}
        value = body["filterGroups"][0]["filters"][0]["value"]
        limit = int(body.get("limit", 10))
        after = int(body.get("after", 0))
        found = store.of(value)
        page = found[after : after + limit]
        results = [{"id": str(i["id"]), "properties": {"email": i["email"], "firstname": i["name"]},
                    "archived": False} for i in page]  # fmt: skip
        out: dict[str, Any] = {"total": len(found), "results": results}
        if after + limit < len(found):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, out)

    def gdpr_delete(req: Request) -> Response:
        if not store.drop(str((req.body or {}).get("objectId"))):
            return failure(404)
        return Response(204)

    def update(req: Request) -> Response:  # PATCH /crm/v3/objects/contacts/{contactId}
        props = (req.body or {}).get("properties")
        if not isinstance(props, dict):
            return Response(400, {"status": "error", "message": "Invalid input JSON",
                                  "category": "VALIDATION_ERROR"})  # fmt: skip
        found = [i for i in store.items if str(i["id"]) == req.match.group(1)]
        if not found:
            return failure(404)
        if "firstname" in props:
            found[0]["name"] = props["firstname"]
        return Response(200, {"id": str(found[0]["id"]), "properties": {
            "email": found[0]["email"], "firstname": found[0]["name"]}, "archived": False})  # fmt: skip

    def unsubscribe(req: Request) -> Response:  # communication preferences v3
        body = req.body or {}
        email, sub = body.get("emailAddress"), body.get("subscriptionId")
        if not isinstance(email, str) or not isinstance(sub, str) or not body.get("legalBasis"):
            return Response(400, {"status": "error", "message": "Invalid input JSON",
                                  "category": "VALIDATION_ERROR"})  # fmt: skip
        store.unsubscribed.append((email, sub))
        return Response(200, {"recipient": email, "subscriptionStatuses": [
            {"id": sub, "status": "NOT_SUBSCRIBED", "sourceOfStatus": "SUBSCRIPTION_STATUS",
             "legalBasis": body["legalBasis"]}]})  # fmt: skip

    def token(req: Request) -> Response:  # RFC 6749 section 4.4 (client credentials)
        basic = req.headers.get("authorization", "").removeprefix("Basic ")
        user, _, secret = base64.b64decode(basic or "Og==").decode().partition(":")
        if (user, secret) != OAUTH_CLIENT or (req.body or {}).get(
            "grant_type"
        ) != "client_credentials":
            return Response(401, {"error": "invalid_client"})
        issued.add(f"tok-{len(issued)}")
        return Response(200, {"access_token": f"tok-{len(issued) - 1}", "token_type": "Bearer",
                               "expires_in": 1800})  # fmt: skip

    return FakeApi(
        [
            ("POST", r"/crm/v3/objects/contacts/search", search),
            ("POST", r"/crm/v3/objects/contacts/gdpr-delete", gdpr_delete),
            ("POST", r"/oauth/v1/token", token),
            ("POST", r"/communication-preferences/v3/unsubscribe", unsubscribe),
            ("PATCH", r"/crm/v3/objects/contacts/(\d+)", update),
        ],
        auth,
        failure,
    )


# --- Shopify ---------------------------------------------------------------------------------


def shopify(store: Store) -> FakeApi:
    api: FakeApi

    def auth(req: Request) -> Response | None:
        if req.headers.get("x-shopify-access-token") == TOKENS["shopify"]:
            return None
        return Response(401, {"errors": "[API] Invalid API key or access token (unrecognized login "
                              "or wrong password)"})  # fmt: skip

    def failure(status: int) -> Response:
        if status == 429:
            return Response(429, {"errors": "Exceeded 2 calls per second for api client. Reduce "
                                  "request rates to resume uninterrupted service."},
                            {"Retry-After": "2.0"})  # fmt: skip
        if status == 404:
            return Response(404, {"errors": "Not Found"})
        return Response(status, {"errors": "Internal Server Error"})

    def search(req: Request) -> Response:
        limit = int(req.query.get("limit", "50"))
        if "page_info" in req.query:  # only limit may go with page_info
            if set(req.query) - {"page_info", "limit"}:
                return Response(400, {"errors": {"page_info": "Invalid value."}})
            email, _, start = req.query["page_info"].partition("|")
        else:
            email, start = req.query["query"].removeprefix("email:"), "0"
        found = store.of(email)
        offset = int(start)
        page = found[offset : offset + limit]
        headers = {}
        if offset + limit < len(found):
            nxt = f"{api.url}/admin/api/2024-01/customers/search.json?limit={limit}&page_info={email}|{offset + limit}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        customers = [{"id": i["id"], "email": i["email"], "first_name": i["name"]} for i in page]
        return Response(200, {"customers": customers}, headers)

    def delete(req: Request) -> Response:
        if not store.drop(req.match.group(1)):
            return failure(404)
        return Response(200, {})

    api = FakeApi(
        [
            ("GET", r"/admin/api/2024-01/customers/search\.json", search),
            ("DELETE", r"/admin/api/2024-01/customers/(\d+)\.json", delete),
        ],
        auth,
        failure,
    )
    return api


# --- Freshdesk -------------------------------------------------------------------------------


def freshdesk(store: Store) -> FakeApi:
    def auth(req: Request) -> Response | None:
        expected = base64.b64encode(f"{TOKENS['freshdesk']}:X".encode()).decode()
        if req.headers.get("authorization") == f"Basic {expected}":
            return None
        return Response(401, {"code": "invalid_credentials",
                              "message": "You have to be logged in to perform this action."})  # fmt: skip

    def failure(status: int) -> Response:
        if status == 429:
            return Response(429, {"message": "You have exceeded the limit of requests per minute"},
                            {"Retry-After": "1"})  # fmt: skip
        if status == 404:
            return Response(404)
        return Response(status, {"code": "internal_error", "message": "Internal error"})

    def contacts(req: Request) -> Response:
        per_page = int(req.query.get("per_page", "30"))
        if per_page > 100:
            return Response(400, {"description": "Validation failed", "errors": [
                {"field": "per_page", "message": "Has to be less than 101", "code": "invalid_value"}]})  # fmt: skip
        page = int(req.query.get("page", "1"))
        found = store.of(req.query.get("email", ""))
        rows = found[(page - 1) * per_page : page * per_page]
        return Response(
            200, [{"id": i["id"], "email": i["email"], "name": i["name"]} for i in rows]
        )

    def hard_delete(req: Request) -> Response:
        if req.query.get("force") != "true":
            return Response(400, {"description": "Validation failed", "errors": [
                {"field": "force", "message": "contact must be soft deleted first"}]})  # fmt: skip
        if not store.drop(req.match.group(1)):
            return failure(404)
        return Response(204)

    return FakeApi(
        [
            ("GET", r"/api/v2/contacts", contacts),
            ("DELETE", r"/api/v2/contacts/(\d+)/hard_delete", hard_delete),
        ],
        auth,
        failure,
    )


SERVERS = {"hubspot": hubspot, "shopify": shopify, "freshdesk": freshdesk}
