"""Errors raised by the reading_tests library.

``InvalidInput`` carries a one-line message a person can act on; the command line prints it and exits
with status 2 (DESIGN §5.3).
"""


class ReadingTestsError(Exception):
    """Base class of every error this library raises on purpose."""


class InvalidInput(ReadingTestsError):
    """Input data (a CSV, an item file, a parameter) cannot be used; the message says why and where."""
