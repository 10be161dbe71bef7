"""The demo: check and render both reference deployments, record it all, verify the ledger.

Later features add their own steps here (data maps, requests, consent, retention).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from troth.audit import Ledger, VerifyResult, verify
from troth.config import Settings
from troth.errors import ConfigError
from troth.policy.checks import Severity, run_checks
from troth.policy.render import (
    render_html,
    render_markdown,
    render_record_csv,
    render_record_html,
)
from troth.project import Project, load_project
from troth.store import open_store

EXAMPLE_NAMES = ("mydigisoft", "plus")
ACTOR = "troth-demo"


@dataclass
class ExampleResult:
    name: str
    policy_id: str
    version: str
    promises: int
    errors: int
    warnings: int
    notes: int
    files: dict[str, str] = field(default_factory=dict)
    access_rows: int = 0
    erased_rows: int = 0
    export: Path | None = None
    #: the retention sweep of the demo store (the examples' assumed periods): rows per outcome
    swept: dict[str, int] = field(default_factory=dict)


@dataclass
class DemoResult:
    examples: list[ExampleResult]
    verified: VerifyResult
    out: Path


def find_examples(start: Path | None = None, *, extra: tuple[Path, ...] | None = None) -> Path:
    """The `examples/` folder: in the working tree, beside the source, or shipped in the wheel."""
    candidates = [(start or Path.cwd()) / "examples"]
    if extra is None:
        extra = (Path(__file__).resolve().parents[2] / "examples",)
        shipped = resources.files("troth").joinpath("_examples")
        if isinstance(shipped, Path):
            extra = (*extra, shipped)
    candidates += extra
    for path in candidates:
        if all((path / name / "policy.yaml").is_file() for name in EXAMPLE_NAMES):
            return path
    raise ConfigError(
        "the example policies were not found",
        where=str(candidates[0]),
        fix="run the demo from a clone of the troth repository",
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: a fictional customer of each demo store, and the connection its data map names
DEMO_PERSON = {"mydigisoft": "customer7@example.com", "plus": "owner7@example.com"}


def _request(
    result: ExampleResult, project: Project, root: Path, out: Path, settings: Settings
) -> None:
    """Fill a fictional demo store, then export and erase one person's data from it."""
    from troth.datamap.demo import create_demo_db
    from troth.dsr import Identity, access, erase

    assert project.datamap is not None
    store = out / f"{result.name}-store.db"
    store.unlink(missing_ok=True)
    url = f"sqlite:///{store}"
    create_demo_db(url, result.name, customers=50, examples_dir=root)
    env = {f"TROTH_CONN_{ds.connection.upper()}": url for ds in project.datamap.datamap.datasets()}
    who = [Identity("email", DEMO_PERSON[result.name])]
    export = out / result.name / "access-export.zip"
    got = access(project, who, output=export, settings=settings, env=env, actor=ACTOR)
    result.access_rows, result.export = got.rows(), got.export
    result.erased_rows = erase(project, who, settings=settings, env=env, actor=ACTOR).rows()
    _sweep(result, project, env, settings)


def _sweep(
    result: ExampleResult, project: Project, env: dict[str, str], settings: Settings
) -> None:
    """Sweep the demo store under the example's retention rules (assumed periods included)."""
    from troth.retention.plan import Stores
    from troth.retention.sweep import run_retention

    stores = Stores(env)
    engine = open_store(settings)
    try:
        report = run_retention(project, stores, engine, key=settings.secret_key, actor=ACTOR)
    finally:
        stores.close()
        engine.dispose()
    result.swept = {
        "deleted": sum(r.deleted for r in report.results),
        "anonymised": sum(r.anonymised for r in report.results),
        "held": sum(r.held for r in report.results),
    }


def run_demo(
    out: Path,
    *,
    db_url: str | None = None,
    examples: Path | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> DemoResult:
    """Check and render each example into ``out/<name>/``, record each step, verify the ledger."""
    root = examples or find_examples()
    out.mkdir(parents=True, exist_ok=True)
    # the demo's own TROTH_HOME is *out*: its secret key (so the ledger's key) and ledger anchor
    settings = Settings.from_env(
        {"TROTH_HOME": str(out), "TROTH_DATABASE_URL": db_url or f"sqlite:///{out / 'troth.db'}"}
    )
    engine = open_store(settings)
    ledger = Ledger(engine)
    results: list[ExampleResult] = []
    try:
        for name in EXAMPLE_NAMES:
            progress(f"checking examples/{name}")
            project = load_project(root / name)
            doc = project.policy
            report = run_checks(doc, datamap=project.datamap)
            meta = doc.policy.policy
            result = ExampleResult(
                name=name,
                policy_id=meta.id,
                version=meta.version,
                promises=len(doc.policy.promises),
                errors=report.count(Severity.error),
                warnings=report.count(Severity.warning),
                notes=report.count(Severity.info),
            )
            ledger.append(
                "policy.version",
                {
                    "policy": meta.id,
                    "version": meta.version,
                    "sha256": _sha256(doc.path.read_bytes()),
                },
                actor=ACTOR,
            )
            ledger.append(
                "policy.check",
                {
                    "policy": meta.id,
                    "errors": result.errors,
                    "warnings": result.warnings,
                    "notes": result.notes,
                    "checks": report.checks_run,
                },
                actor=ACTOR,
            )
            progress(f"rendering examples/{name}")
            target = out / name
            target.mkdir(parents=True, exist_ok=True)
            rendered = {
                "policy.md": render_markdown(doc),
                "policy.html": render_html(doc),
                "record.csv": render_record_csv(doc),
                "record.html": render_record_html(doc),
            }
            for filename, text in rendered.items():
                data = text.encode("utf-8")
                (target / filename).write_bytes(data)
                result.files[filename] = _sha256(data)
            ledger.append("policy.render", {"policy": meta.id, "files": result.files}, actor=ACTOR)
            progress(f"serving a data-subject request on the examples/{name} demo store")
            _request(result, project, root, out, settings)
            results.append(result)
        progress("verifying the audit ledger")
        verified = verify(engine)
    finally:
        engine.dispose()
    return DemoResult(examples=results, verified=verified, out=out)
