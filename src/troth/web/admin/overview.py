"""Overview pages for every role: consent figures with a withdrawals chart, retention rules and
runs, the policy's check findings, and webhook deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from troth.console import figures
from troth.policy.checks import Severity, run_checks
from troth.web.admin.charts import daily_bars
from troth.web.admin.context import PATH, AdminWeb, View, Web
from troth.worker.webhooks import deliveries

router = APIRouter(prefix=PATH, include_in_schema=False)
DAYS = 90


@router.get("/consent")
async def consent(request: Request, web: Web, _actor: View) -> HTMLResponse:
    def run() -> HTMLResponse:
        today = datetime.now(UTC).date()
        per_day = figures.withdrawals_per_day(web.engine, DAYS, today)
        context = {
            "rows": figures.consent_figures(web.engine),
            "chart": daily_bars(per_day, today, "Consent withdrawals per day"),
            "withdrawn": sum(per_day),
            "days": DAYS,
        }
        return web.page(request, "consent.html", context, title="Consent")

    return await run_in_threadpool(run)


@router.get("/retention")
async def retention(request: Request, web: Web, _actor: View) -> HTMLResponse:
    def run() -> HTMLResponse:
        context = {
            "rules": figures.rules_overview(web.policy),
            "runs": figures.latest_runs(web.engine),
            "bindings": figures.per_binding(web.engine),
        }
        return web.page(request, "retention.html", context, title="Retention")

    return await run_in_threadpool(run)


def _findings(web: AdminWeb) -> dict[str, object]:
    project = web.project
    report = run_checks(project.policy, datamap=project.datamap)
    return {
        "findings": sorted(report.findings, key=lambda f: (f.severity.rank, f.check)),
        "checks_run": report.checks_run,
        "summary": {s.value: report.count(s) for s in Severity},
    }


@router.get("/checks")
async def checks(request: Request, web: Web, _actor: View) -> HTMLResponse:
    context = await run_in_threadpool(_findings, web)
    return web.page(request, "checks.html", context, title="Check findings")


@router.get("/webhooks")
async def webhooks(request: Request, web: Web, _actor: View) -> HTMLResponse:
    rows = await run_in_threadpool(lambda: deliveries(web.engine, limit=100))
    return web.page(request, "webhooks.html", {"rows": rows}, title="Webhook deliveries")
