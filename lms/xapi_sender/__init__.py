"""Sending the xAPI outbox to a learning record store (LRS).

``lms.reading`` writes one statement per event into ``xapi_outbox`` in the same transaction as the
answer it describes; this package drains that table: :mod:`.outbox` claims rows with a lease (the
database is the queue), :mod:`.sender` POSTs them in batches with retries and backoff, :mod:`.validate`
checks statements against xAPI 1.0.3 and the Japan assessment profile, :mod:`.cli` is ``giga xapi``.
"""
