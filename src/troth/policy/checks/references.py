"""Checks on references between elements, promise ids and troth's own assumptions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troth.errors import did_you_mean
from troth.policy.checks.base import CheckContext, Issue, check


def _refs(ctx: CheckContext) -> Iterator[tuple[Any, str, str, str]]:
    """(element, field, referenced id, kind of target) for every id reference."""
    p = ctx.policy
    for purpose in p.purposes:
        for i, cid in enumerate(purpose.consents):
            yield purpose, f"consents.{i}", cid, "consent"
    for consent in p.consents:
        for i, pid in enumerate(consent.purposes):
            yield consent, f"purposes.{i}", pid, "purpose"
        if consent.channel:
            yield consent, "channel", consent.channel, "collection point"
    for cp in p.collection_points:
        for i, pid in enumerate(cp.purposes):
            yield cp, f"purposes.{i}", pid, "purpose"
    for rule in p.retention:
        for i, pid in enumerate(rule.purposes):
            yield rule, f"purposes.{i}", pid, "purpose"
    for r in p.recipients:
        for i, pid in enumerate(r.purposes):
            yield r, f"purposes.{i}", pid, "purpose"
    for src in p.restricted_sources:
        for i, pid in enumerate(src.allowed_purposes):
            yield src, f"allowed_purposes.{i}", pid, "purpose"
    for cookie in p.cookies.items if p.cookies else []:
        if cookie.purpose:
            yield cookie, "purpose", cookie.purpose, "purpose"


@check("ref.dangling", "error", "A reference to an id that does not exist")
def dangling(ctx: CheckContext) -> Iterator[Issue]:
    p = ctx.policy
    ids = {
        "consent": [c.id for c in p.consents],
        "purpose": [x.id for x in p.purposes],
        "collection point": [c.id for c in p.collection_points],
    }
    for element, field, ref, kind in _refs(ctx):
        if ref not in ids[kind]:
            valid = ids[kind]
            yield ctx.issue(
                element,
                f"unknown {kind} {ref!r}{did_you_mean(ref, valid)}",
                field=field,
                fix=f"use one of: {', '.join(valid)}" if valid else f"declare the {kind} first",
            )


@check("ref.consent-mismatch", "error", "A purpose and its consent disagree")
def consent_mismatch(ctx: CheckContext) -> Iterator[Issue]:
    for purpose in ctx.policy.purposes:
        for cid in purpose.consents:
            consent = ctx.policy.consent(cid)
            if consent is not None and purpose.id not in consent.purposes:
                yield ctx.issue(
                    purpose,
                    f"purpose {purpose.id!r} names consent {cid!r}, which does not cover it",
                    field="consents",
                    fix=f"add {purpose.id!r} to the purposes of consent {cid!r}",
                )


@check("promise.unencoded", "error", "A declared promise no element encodes")
def unencoded(ctx: CheckContext) -> Iterator[Issue]:
    attached = {pid for e in ctx.policy.all_elements() for pid in e.promises}
    for promise in ctx.policy.promises:
        if promise.id not in attached:
            yield ctx.issue(
                promise,
                f"promise {promise.id} is declared but no element encodes it",
                fix=f"add {promise.id} to the `promises:` of the elements that keep it",
            )


@check("promise.undeclared", "error", "An element cites a promise that is not declared")
def undeclared(ctx: CheckContext) -> Iterator[Issue]:
    declared = {p.id for p in ctx.policy.promises}
    for element in ctx.policy.all_elements():
        for i, pid in enumerate(element.promises):
            if pid not in declared:
                yield ctx.issue(
                    element,
                    f"promise {pid} is cited but not declared{did_you_mean(pid, declared)}",
                    field=f"promises.{i}",
                    fix="declare it under the top-level `promises:` with its text and quote",
                )


@check("encoding.assumption", "info", "troth assumed what the published policy does not say")
def assumptions(ctx: CheckContext) -> Iterator[Issue]:
    for element in ctx.policy.all_elements():
        for field, why in element.assumptions.items():
            yield ctx.issue(
                element,
                f"{ctx.doc.field_path(element, field)} is assumed, not stated in the published "
                f"policy: {why}",
                field=field if field in type(element).model_fields else None,
                fix="state it in the published policy, then drop the assumption",
            )
