"""SaaS HTTP APIs as declared in the data map (:mod:`troth.datamap.services`), on httpx.

Requests carry the service's authentication (secrets read from the environment by name), time out
after ``timeout`` seconds, and are retried: a 429 after its ``Retry-After`` (seconds or an HTTP
date, capped at ``max_wait``), a 5xx, a timeout or a lost connection after an exponential back-off
(``backoff`` x 2^n), at most ``max_retries`` times; then the service is reported down
(:class:`~troth.errors.StoreDownError`, retryable). Any other 4xx is a
:class:`~troth.errors.ConnectorError` naming the service, resource and status; a response body is
never echoed (it may hold personal data), nor is a secret.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from troth.datamap.services import PLACEHOLDER, HttpRequest, HttpResource, Service
from troth.errors import ConfigError, ConnectorError, StoreDownError

Sleep = Callable[[float], None]


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path (``data``, ``exact_matches.members``); the body for ``""``."""
    for part in path.split(".") if path else []:
        body = body.get(part) if isinstance(body, dict) else None
    return body


def fill(text: str, values: Mapping[str, str], *, in_path: bool) -> str:
    def one(m: Any) -> str:
        value = values.get(m.group(1))
        if value is None:
            raise ConnectorError(
                f"placeholder {{{m.group(1)}}} has no value here",
                where="service request",
                fix="use the resource's identity in find, and {id} or an item field in erase",
            )
        return quote(value, safe="") if in_path else value

    return PLACEHOLDER.sub(one, text)


def _fill_json(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return fill(value, values, in_path=False)
    if isinstance(value, dict):
        return {k: _fill_json(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, values) for v in value]
    return value


class HttpService:
    """One SaaS service: authenticated, retried requests, and pagination."""

    def __init__(
        self,
        service: Service,
        base_url: str,
        env: Mapping[str, str],
        *,
        sleep: Sleep = time.sleep,
    ) -> None:
        import httpx

        self.service = service
        self.name = service.name
        self._httpx = httpx
        self._env = env
        self._sleep = sleep
        self._token: str | None = None
        a = service.auth
        for name in (a.token, a.username_env, a.password, a.client_id, a.client_secret):
            if name is not None:
                self._secret(name)  # a missing secret fails before any request is sent
        auth: Any = None
        if service.auth.type == "basic":
            user = self._secret(a.username_env) if a.username_env else (a.username or "")
            password = self._secret(a.password) if a.password else (a.password_text or "")
            auth = httpx.BasicAuth(user, password)
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=service.timeout,
            headers=dict(service.headers),
            auth=auth,
            follow_redirects=False,
        )
        #: requests sent (retries included), for evidence and tests
        self.sent = 0

    def _secret(self, name: str | None) -> str:
        value = self._env.get(name or "")
        if not value:
            raise ConfigError(
                f"service {self.name!r} needs the secret {name} in the environment",
                where=f"service {self.name!r}",
                fix=f"set {name}",
            )
        return value

    def _auth_headers(self) -> dict[str, str]:
        auth = self.service.auth
        if auth.type == "bearer":
            return {"Authorization": f"Bearer {self._secret(auth.token)}"}
        if auth.type == "header":
            return {auth.header or "": self._secret(auth.token)}
        if auth.type == "oauth2_client_credentials":
            if self._token is None:
                self._token = self._fetch_token()
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    def _fetch_token(self) -> str:
        auth = self.service.auth
        data = {"grant_type": "client_credentials"}
        if auth.scope:
            data["scope"] = auth.scope
        basic = self._httpx.BasicAuth(
            self._secret(auth.client_id), self._secret(auth.client_secret)
        )
        response = self._send(
            "token", lambda: self.client.post(auth.token_url or "", data=data, auth=basic)
        )
        token = dig(response.json(), "access_token")
        if not isinstance(token, str) or not token:
            raise ConnectorError(
                f"service {self.name!r}: the token endpoint returned no access_token",
                where=f"service {self.name!r}",
                fix="check token_url and the client's grant",
            )
        return token

    def request(
        self,
        resource: HttpResource,
        req: HttpRequest,
        values: Mapping[str, str],
        extra: Mapping[str, Any] | None = None,
        url: str | None = None,
    ) -> Any:
        """Send one declared request (placeholders filled); the httpx response."""
        params: dict[str, Any] = {k: fill(v, values, in_path=False) for k, v in req.params.items()}
        body = _fill_json(req.json_body, values) if req.json_body is not None else None
        if resource.pagination.send_in == "json" and req is resource.find:
            body = {**(body or {}), **(extra or {})}
        else:
            params.update(extra or {})
        target = url or fill(req.path, values, in_path=True)

        def send() -> Any:
            return self.client.request(
                req.method,
                target,
                params=None if url else params,
                json=body,
                headers=self._auth_headers(),
            )

        return self._send(resource.name, send)

    def call(self, what: str, req: HttpRequest, values: Mapping[str, str]) -> Any:
        """Send one of the service's named operations (placeholders filled), retried like every
        request; the httpx response (a 404 is returned, the caller decides what it means)."""
        params = {k: fill(v, values, in_path=False) for k, v in req.params.items()}
        body = _fill_json(req.json_body, values) if req.json_body is not None else None
        target = fill(req.path, values, in_path=True)

        def send() -> Any:
            return self.client.request(
                req.method, target, params=params, json=body, headers=self._auth_headers()
            )

        return self._send(what, send)

    def _send(self, what: str, send: Callable[[], Any]) -> Any:
        httpx = self._httpx
        where = f"service {self.name!r}"
        for attempt in range(self.service.max_retries + 1):
            last = attempt == self.service.max_retries
            self.sent += 1
            try:
                response = send()
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if last:
                    raise StoreDownError(
                        f"gave no answer to the {what!r} request ({type(exc).__name__})",
                        where=where,
                        fix="check the service's status and the base URL, then run it again",
                    ) from None
                self._sleep(self._backoff(attempt))
                continue
            code = response.status_code
            if code == 429 or code >= 500:
                if last:
                    raise StoreDownError(
                        f"answered {code} to all {self.service.max_retries + 1} attempts of "
                        f"the {what!r} request",
                        where=where,
                        fix="run the request again later (it resumes)",
                    )
                wait = self._retry_after(response) if code == 429 else None
                self._sleep(wait if wait is not None else self._backoff(attempt))
                continue
            if code >= 400 and code != 404:
                raise ConnectorError(
                    f"refused the {what!r} request with {code}",
                    where=where,
                    fix="check the credentials and the request declared in the data map"
                    if code in (401, 403)
                    else "check the request declared in the data map against the API's docs",
                )
            return response
        raise AssertionError  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return float(min(self.service.backoff * (2**attempt), self.service.max_wait))

    def _retry_after(self, response: Any) -> float | None:
        value = response.headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value) if value else None
            if when is None:
                return None
            seconds = (when - datetime.now(UTC)).total_seconds()
        return max(0.0, min(seconds, self.service.max_wait))

    def find(self, resource: HttpResource, values: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Every item the find request returns for ``values``, page after page."""
        pg = resource.pagination
        extra: dict[str, Any] = {}
        if pg.limit_param:
            extra[pg.limit_param] = pg.page_size
        url: str | None = None
        for page in range(1, pg.max_pages + 1):
            if pg.type == "page":
                extra[pg.page_param or ""] = page
            response = self.request(resource, resource.find, values, extra, url)
            if response.status_code == 404:
                return
            body = response.json()
            items = dig(body, resource.items)
            if not isinstance(items, list):
                raise ConnectorError(
                    f"service {self.name!r} ({resource.name}): no list at "
                    f"{resource.items or 'the body root'}",
                    where=f"service {self.name!r}",
                    fix="set `items:` to the path of the list in the API's answer",
                )
            yield from (i for i in items if isinstance(i, dict))
            if not items or pg.type == "none":
                return
            if pg.type == "page":
                if len(items) < pg.page_size:
                    return
            elif pg.type == "cursor":
                more = dig(body, pg.has_more) if pg.has_more else True
                if pg.cursor_from == "id":  # the last item's id (Stripe's starting_after)
                    cursor = dig(items[-1], resource.id_field)
                else:
                    cursor = dig(body, pg.cursor_from)
                if not more or cursor in (None, ""):
                    return
                extra[pg.cursor_param or ""] = cursor
            else:  # link
                url = response.links.get("next", {}).get("url")
                if not url:
                    return
        raise ConnectorError(
            f"service {self.name!r} ({resource.name}): more than {pg.max_pages} pages",
            where=f"service {self.name!r}",
            fix="raise pagination.max_pages, or check the pagination settings",
        )

    def erase(self, resource: HttpResource, item: Mapping[str, Any]) -> bool:
        """Erase one item; False when the service no longer has it (404)."""
        assert resource.erase is not None
        values = {
            k: str(v)
            for k, v in item.items()
            if isinstance(v, str | int) and not isinstance(v, bool)
        }
        values["id"] = str(dig(item, resource.id_field))
        response = self.request(resource, resource.erase, values)
        return bool(response.status_code != 404)

    def update(
        self, resource: HttpResource, item: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> bool:
        """Send the resource's update request for one item with the new values; False when
        the service no longer has it (404)."""
        assert resource.update is not None
        values = {
            k: str(v)
            for k, v in item.items()
            if isinstance(v, str | int) and not isinstance(v, bool)
        }
        values.update({k: str(v) for k, v in changes.items()})
        values["id"] = str(dig(item, resource.id_field))
        response = self.request(resource, resource.update, values)
        return bool(response.status_code != 404)

    def close(self) -> None:
        self.client.close()
