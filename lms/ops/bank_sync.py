"""Carry item promotions from the worker that made them to every other worker.

Each process keeps the item bank in memory (`lms.reading.delivery.item_bank`), with the promoted
calibrations applied.  A promotion refreshes only the process that handled it, so every worker runs a small
thread that reads a fingerprint of the promoted rows every ``GIGA_BANK_SYNC_SECONDS`` (default 10) and, when
it changed, applies the promotions to its own bank.  One indexed aggregate query per interval per worker;
nothing on the request path.  The database stays the source of truth: a worker started later applies the
promotions at start-up anyway.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from lms.reading.calibration.models import ItemCalibration

logger = logging.getLogger("lms.ops.bank_sync")

Fingerprint = tuple[int, int, str]


def promotion_fingerprint(session: Session) -> Fingerprint:
    """(number, sum of ids, newest time) of the promoted calibrations: changes with every promotion."""
    count, id_sum, newest = session.exec(
        select(
            func.count(col(ItemCalibration.id)),
            func.coalesce(func.sum(col(ItemCalibration.id)), 0),
            func.max(col(ItemCalibration.promoted_at)),
        ).where(ItemCalibration.status == "promoted")
    ).one()
    return int(count or 0), int(id_sum or 0), str(newest)


class BankSync:
    """The polling thread of one process (`start` in the app's lifespan, `stop` at shutdown)."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self.seen: Fingerprint | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One round: apply the promotions when the fingerprint moved; whether it did."""
        from lms.reading.calibration.service import refresh_process_bank

        with Session(self.engine) as session:
            now = promotion_fingerprint(session)
            if now == self.seen:
                return False
            self.seen = now
            refresh_process_bank(session)
        logger.info("item promotions made by another process applied (%d promoted items)", now[0])
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except SQLAlchemyError as error:  # a database blip: try again next round
                logger.warning("item bank sync failed (%s); retrying", type(error).__name__)

    def start(self) -> None:
        """Remember the current fingerprint (the start-up applied those promotions), then poll."""
        try:
            with Session(self.engine) as session:
                self.seen = promotion_fingerprint(session)
        except SQLAlchemyError:
            self.seen = None  # unknown: the first successful round applies whatever is there
        self._thread = threading.Thread(target=self._run, name="giga-bank-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
