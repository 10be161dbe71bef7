"""Several processes appending at once still make one valid chain."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from troth.audit import Ledger, verify
from troth.store import engine_for, open_store

PROCS, APPENDS = 4, 200


def _appender(url: str, worker: int, start: object) -> None:
    engine = engine_for(url)
    ledger = Ledger(engine)
    start.wait()  # type: ignore[attr-defined]
    for i in range(APPENDS):
        ledger.append("consent.given", {"worker": worker, "i": i}, actor=f"worker:{worker}")
    engine.dispose()


@pytest.mark.timeout(120)
def test_concurrent_appends_form_one_valid_chain(state_url: str) -> None:
    engine = open_store(state_url)
    ctx = mp.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_appender, args=(state_url, w, start)) for w in range(PROCS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(100)
    assert [p.exitcode for p in procs] == [0] * PROCS
    result = verify(engine)
    assert result.ok, result.line()
    assert result.checked == PROCS * APPENDS
    # every worker's entries are all there, in its own order
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT actor, data FROM audit_entry ORDER BY seq").all()
    for w in range(PROCS):
        mine = [d for a, d in rows if a == f"worker:{w}"]
        assert mine == [f'{{"i":{i},"worker":{w}}}' for i in range(APPENDS)]
    engine.dispose()
