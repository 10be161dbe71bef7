"""No centre route answers 500, whatever form, path or headers it gets (hypothesis)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from centre_helpers import client, csrf
from centre_support import EXAMPLES, Mailbox
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROUTES = [
    ("POST", "/privacy/request"),
    ("POST", "/privacy/verify/{x}"),
    ("GET", "/privacy/verify/{x}"),
    ("GET", "/privacy/status/{x}"),
    ("GET", "/privacy/request?kind={x}"),
    ("POST", "/privacy/preferences"),
    ("POST", "/privacy/preferences/sign-in"),
    ("POST", "/privacy/preferences/verify/{x}"),
    ("GET", "/privacy/unsubscribe/{x}"),
    ("POST", "/privacy/unsubscribe/{x}"),
    ("GET", "/privacy/download/{x}"),
    ("POST", "/privacy/download/{x}"),
    ("POST", "/privacy/download/{x}/code/{x}"),
]
TEXT = st.text(max_size=40) | st.sampled_from(
    ["access", "erasure", "rectification", "objection", "withdraw_consent", "phone", "email",
     "ada@example.com", "+1 555 0100", "shop.customers.first_name", "marketing_email", "123456"]
)  # fmt: skip
FIELDS = st.sampled_from(
    ["kind", "identity", "identity_type", "field_1", "value_1", "purpose", "consent", "code",
     "scope_tenant", "action"]
)  # fmt: skip


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory, smtp_module: tuple[Mailbox, int]) -> Any:
    c = client(EXAMPLES / "mydigisoft")
    return c, csrf(c)


@pytest.fixture(scope="module")
def smtp_module() -> Any:
    import os

    from aiosmtpd.controller import Controller

    from servers import free_port

    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    saved = dict(os.environ)
    os.environ.update(
        {
            "TROTH_HOME": str(tmp_path_home()),
            "TROTH_SECRET_KEY": "fuzz-secret-0123456789abcdef",
            "TROTH_SMTP_HOST": "127.0.0.1",
            "TROTH_SMTP_PORT": str(port),
            "TROTH_SMTP_FROM": "privacy@shop.example.com",
        }
    )
    try:
        yield box, port
    finally:
        os.environ.clear()
        os.environ.update(saved)
        controller.stop()


def tmp_path_home() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="troth-fuzz-")


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(ROUTES),
    part=st.text(min_size=1, max_size=60),
    form=st.dictionaries(FIELDS, TEXT, max_size=6),
    with_token=st.booleans(),
)
def test_no_centre_route_answers_500(
    route: tuple[str, str], part: str, form: dict[str, str], with_token: bool, app_client: Any
) -> None:
    c, token = app_client
    method, path = route
    if with_token:
        form = {**form, "csrf": token}
    url = path.replace("{x}", quote(part, safe=""))
    r = c.request(method, url, data=form if method == "POST" else None)
    assert r.status_code < 500 or r.status_code == 503, (method, url, r.status_code)
    assert "Traceback" not in r.text
