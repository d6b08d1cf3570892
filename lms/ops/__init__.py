"""Operations: backup and restore, cross-process locks, Prometheus metrics, structured logs.

:mod:`.backup` is ``giga backup`` / ``giga restore`` (SQLite online backup API, PostgreSQL
pg_dump/pg_restore),
:mod:`.locks` holds named locks shared by every worker (advisory locks on PostgreSQL, a lease row on SQLite),
:mod:`.bank_sync` carries item promotions from one worker to the others, :mod:`.metrics` and
:mod:`.logging` are the pure ASGI middleware behind ``/metrics`` and the JSON request log.  See
docs/operations.md and docs/runbook.md.
"""
