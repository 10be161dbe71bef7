"""troth's workers: the jobs (:mod:`.jobs`), the embedded default of ``troth serve``
(:mod:`.embedded`), ``troth worker`` on the Procrastinate task queue (:mod:`.engine`), and signed
webhooks (:mod:`.webhooks`).

State changes write their jobs to the transactional outbox (:mod:`troth.store.outbox`) in the
same transaction; a relay hands them to the engine, or, with the queue in the state DB, they
are deferred in that transaction (:mod:`.direct`). See docs/architecture.md. (Nothing is
imported here: the state DB's models import :mod:`.webhooks` without the jobs.)
"""
