"""Alembic migrations of troth's state database, run by :func:`troth.store.upgrade`."""
