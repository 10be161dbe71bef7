"""``troth prove``: for every promise of the policy, what encodes it, what enforces it, live
evidence from troth's state DB and ledger over a period, a status with its reason, and a signed
manifest that binds the report to the ledger's head.

>>> result = prove("examples/plus", output=Path("proof"))
>>> result.summary
{'kept': 20, 'at risk': 3, 'broken': 1, 'not provable': 1}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from troth.config import Settings
from troth.errors import ConfigError
from troth.prove.evidence import Evidence, Period, gather
from troth.prove.manifest import verify_manifest, write_manifest
from troth.prove.probes import ProbeResult
from troth.prove.status import PromiseProof, Status, assess, summary

__all__ = ["ProofResult", "Status", "prove", "verify_proof"]

REPORT_JSON, REPORT_HTML = "report.json", "report.html"
#: the period when none is given: the last 365 days
DEFAULT_DAYS = 365
#: the scopes of the API key the conformance probes use
PROBE_SCOPES = (
    "consent:read",
    "consent:write",
    "disclosure:write",
    "requests:read",
    "requests:write",
)
PROBE_SCOPES_ARGS = tuple(f"--scope {s}" for s in PROBE_SCOPES)


@dataclass
class ProofResult:
    folder: Path
    promises: list[PromiseProof]
    evidence: Evidence
    probes: list[ProbeResult]

    @property
    def summary(self) -> dict[str, int]:
        return summary(self.promises)

    def status_of(self, promise_id: str) -> Status:
        return next(p.status for p in self.promises if p.id == promise_id)


def prove(
    project: Any,
    *,
    output: Path,
    settings: Settings | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    env: dict[str, str] | None = None,
    live: str | None = None,
    api_key: str | None = None,
) -> ProofResult:
    """Write ``report.json``, ``report.html`` and the signed ``manifest.json`` into ``output``.

    ``live``: the base URL of a running ``troth serve`` of this project (with an API key of the
    :data:`PROBE_SCOPES`): conformance probes run against it with canary subjects, and the
    retention probe and the erasure probe's dry run against the stores."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from troth.policy.checks import run_checks
    from troth.project import Project, cached_project
    from troth.store import open_store

    proj = project if isinstance(project, Project) else cached_project(project)
    settings = settings or Settings.from_env(env)
    now = datetime.now(UTC)
    until = until or now
    period = Period(since or until - timedelta(days=DEFAULT_DAYS), until)
    engine = open_store(settings)
    evidence = gather(  # judged as of the end of the period
        engine, settings, period, now=until, policy_id=proj.policy.policy.policy.id
    )
    report = run_checks(proj.policy, datamap=proj.datamap)
    policy = proj.policy.policy
    probes: list[ProbeResult] = []
    if live is not None:
        from troth.prove.disclosure_probe import disclosure_probes
        from troth.prove.erasure_probe import erasure_probes
        from troth.prove.probes import consent_probes, http_client, retention_probes

        if not api_key:
            raise ConfigError(
                "conformance probes need an API key of the deployment",
                where="--api-key",
                fix=f"create one with `troth apikey create {' '.join(PROBE_SCOPES_ARGS)}` "
                "and pass it (or TROTH_API_KEY)",
            )
        post, get = http_client(live, api_key)
        datamap = proj.datamap.datamap if proj.datamap is not None else None
        probes = consent_probes(policy, post)
        probes += disclosure_probes(policy, datamap, post)
        probes += retention_probes(proj, settings.secret_key, env)
        probes += erasure_probes(proj, settings, env, post, get)
    proofs = assess(policy, evidence, report.findings, probes)
    output.mkdir(parents=True, exist_ok=True)
    generated = now.isoformat(timespec="seconds")
    period_doc = evidence.to_dict()["period"]
    doc: dict[str, Any] = {
        "troth_prove": 1,
        "generated_at": generated,
        "policy": {"id": policy.policy.id, "version": policy.policy.version, "digest": proj.digest},
        "summary": summary(proofs),
        "promises": [p.to_dict() for p in proofs],
        "probes": [p.to_dict() for p in probes],
        "evidence": evidence.to_dict(),
    }
    (output / REPORT_JSON).write_text(json.dumps(doc, indent=2, default=str) + "\n", "utf-8")
    env_j = Environment(
        loader=PackageLoader("troth.prove", "templates"), autoescape=select_autoescape()
    )
    html = env_j.get_template("report.html.j2").render(
        language=policy.policy.language,
        policy_title=policy.policy.title,
        policy_version=policy.policy.version,
        organisation=policy.organisation.name,
        generated_at=generated,
        period=period_doc,
        ledger=evidence.ledger,
        summary=doc["summary"],
        promises=doc["promises"],
    )
    (output / REPORT_HTML).write_text(html, "utf-8")
    facts = {
        "generated_at": generated,
        "policy": doc["policy"],
        "period": period_doc,
        "ledger_head": evidence.ledger["head"],
        "summary": doc["summary"],
    }
    write_manifest(output, [REPORT_JSON, REPORT_HTML], facts, settings.secret_key)
    return ProofResult(output, proofs, evidence, probes)


def verify_proof(
    folder: Path, *, settings: Settings | None = None, env: dict[str, str] | None = None
) -> list[str]:
    """What does not verify in a proof folder (empty when all does), against this deployment's
    key and state DB."""
    from troth.store import open_store

    settings = settings or Settings.from_env(env)
    return verify_manifest(folder, secret=settings.secret_key, engine=open_store(settings))
