"""The database refused an import that passed validation: which status and sentence to answer with.

Validation checks lengths, references and uniqueness before anything is written, so this is the last guard
(a constraint the checks do not know, a lock, a dropped connection). The caller has rolled back: nothing of
the import is kept. The sentence names the error's type only; the database's own text may quote pupils' names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from lms.core.errors import DomainError
from lms.roster import messages as msg


@dataclass(frozen=True)
class DatabaseRefusal:
    status_code: int  # 503: try again later (lock, connection); 422: the data
    message: str
    error_type: str


def database_refusal(error: DBAPIError | DisconnectionError) -> DatabaseRefusal:
    error_type = type(error).__name__
    unreachable = getattr(error, "connection_invalidated", False)
    if unreachable or isinstance(error, OperationalError | DisconnectionError):
        return DatabaseRefusal(503, msg.DATABASE_BUSY.format(error_type=error_type), error_type)
    return DatabaseRefusal(422, msg.DATABASE_REFUSED_IMPORT.format(error_type=error_type), error_type)


class ImportNotWritten(DomainError):
    """`DatabaseRefusal` as a domain error (the API's JSON answer)."""

    def __init__(self, refusal: DatabaseRefusal) -> None:
        super().__init__(refusal.message, detail={"database_error": refusal.error_type})
        self.status_code = refusal.status_code
