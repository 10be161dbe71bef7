"""Property tests: an identity value matches itself literally in a Redis glob and nothing else;
placeholders fill paths URL-encoded; a body path never raises."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from troth.connectors.http import dig, fill
from troth.connectors.keystore import glob_escape

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


def _redis_glob(pattern: str) -> re.Pattern[str]:
    """Redis's glob (stringmatchlen): * ? [..] and \\ escapes, as a regex."""
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if ch == "*" else "." if ch == "?" else re.escape(ch)
        i += 1
    return re.compile(out + r"\Z", re.DOTALL)


@given(value=_text, other=_text)
def test_an_escaped_value_matches_only_itself(value: str, other: str) -> None:
    glob = "session:" + glob_escape(value) + ":*"
    rx = _redis_glob(glob)
    assert rx.match(f"session:{value}:abc")
    if other != value:
        assert not rx.match(f"session:{other}:abc") or other.startswith(value + ":")


@given(value=_text)
def test_placeholders_in_paths_are_encoded(value: str) -> None:
    path = fill("/v1/customers/{id}", {"id": value}, in_path=True)
    assert path.startswith("/v1/customers/")
    tail = path.removeprefix("/v1/customers/")
    assert "/" not in tail
    assert "?" not in tail
    assert "#" not in tail
    assert fill("email:{email}", {"email": value}, in_path=False) == f"email:{value}"


@given(body=st.recursive(st.none() | st.integers() | _text,
                         lambda c: st.dictionaries(_text, c, max_size=3) | st.lists(c, max_size=3),
                         max_leaves=10),
       path=st.lists(st.from_regex(r"[a-z]{1,5}", fullmatch=True), max_size=3))  # fmt: skip
def test_dig_never_raises(body: Any, path: list[str]) -> None:
    dig(body, ".".join(path))
