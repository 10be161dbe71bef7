"""Published policy versions (PL-14): archived once each, diffed, and who each change concerns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.cli import main
from troth.config import Settings
from troth.errors import PolicyError
from troth.policy.impact import impact
from troth.policy.loader import load_policy
from troth.policy.versions import history, publish
from troth.store import open_store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _next_version(text: str) -> str:
    """MyDigiSoft 1.1: marketing consent also covers a new purpose, a courier receives contact
    data, and contact data is kept 3 years instead of an unstated period."""
    text = text.replace('  version: "1.0"', '  version: "1.1"', 1)
    text = text.replace(
        "    purposes: [marketing_email]\n    notice:",
        "    purposes: [marketing_email, order_fulfilment]\n    notice:",
        1,
    )
    text = text.replace(
        "recipients: []",
        "recipients:\n  - id: courier\n    name: Courier\n    type: processor\n"
        "    categories: [user.contact.email]\n    purposes: [order_fulfilment]\n",
        1,
    )
    return text.replace(
        "    period: unspecified\n    trigger: last_activity",
        "    period: 3 years\n    trigger: last_activity",
        1,
    )


@pytest.fixture
def settings(troth_env: Path, state_url: str) -> Settings:
    return Settings.from_env().with_database(state_url)


def test_publish_archives_each_version_once(settings: Settings, tmp_path: Path) -> None:
    project = tmp_path / "md"
    project.mkdir()
    source = (EXAMPLES / "mydigisoft" / "policy.yaml").read_text()
    (project / "policy.yaml").write_text(source)
    engine = open_store(settings)
    first = publish(engine, project, actor="dpo")
    assert first.new
    assert first.version == "1.0"
    assert first.impact == []
    assert not publish(engine, project).new  # the same text again: nothing recorded
    (project / "policy.yaml").write_text(source.replace("We", "we", 1))
    with pytest.raises(PolicyError, match="published with another text"):
        publish(engine, project)

    (project / "policy.yaml").write_text(_next_version(source))
    second = publish(engine, project, actor="dpo")
    actions = {(i.action, i.element) for i in second.impact}
    assert ("ask_again", "consents.marketing_email") in actions
    assert ("tell", "recipients.courier") in actions
    assert ("tell", "retention.contact_and_purchase_history") in actions
    assert [v.version for v in history(engine, "mydigisoft")] == ["1.0", "1.1"]

    kinds = sa.table("audit_entry", sa.column("kind"), sa.column("data"))
    with engine.connect() as c:
        rows = c.execute(sa.select(kinds.c.data).where(kinds.c.kind == "policy.published")).all()
    assert len(rows) == 2
    assert json.loads(rows[1][0])["ask_again"] == ["marketing_email"]


def test_diff_between_published_versions(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "md"
    project.mkdir()
    source = (EXAMPLES / "mydigisoft" / "policy.yaml").read_text()
    (project / "policy.yaml").write_text(source)
    db = ["--db", settings.database_url]
    assert main(["publish", str(project), *db]) == 0
    (project / "policy.yaml").write_text(_next_version(source))
    assert main(["publish", str(project), *db]) == 0
    out = capsys.readouterr().out
    assert "ask again: holders of consent marketing_email" in out
    (project / "policy.yaml").write_text(source)  # the file moved on; the archive did not
    assert main(["diff", "1.0", "1.1", "--published", str(project), "-f", "json", *db]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["old"] == "1.0"
    assert data["new"] == "1.1"
    assert any("courier" in c["text"].lower() for c in data["changes"])
    assert {i["action"] for i in data["impact"]} == {"ask_again", "tell"}
    assert main(["diff", "1.0", "9.9", "--published", str(project), *db]) == 2
    assert "never published" in capsys.readouterr().err
    assert main(["publish", str(project), "--history", *db]) == 0
    assert capsys.readouterr().out.count("published") == 2


def test_impact_of_each_kind_of_change() -> None:
    old = load_policy(EXAMPLES / "mydigisoft" / "policy.yaml").policy
    assert impact(old, old) == []
    text = (EXAMPLES / "mydigisoft" / "policy.yaml").read_text()
    new = load_policy(EXAMPLES / "mydigisoft" / "policy.yaml", text=_next_version(text)).policy
    found = {(i.action, i.element, i.consent) for i in impact(old, new)}
    assert found == {
        ("ask_again", "consents.marketing_email", "marketing_email"),
        ("tell", "recipients.courier", None),
        ("tell", "retention.contact_and_purchase_history", None),
    }
    # shorter periods and removed recipients ask nothing of anyone
    assert impact(new, old) == []
