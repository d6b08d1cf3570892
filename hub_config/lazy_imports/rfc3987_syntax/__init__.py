"""A lazy stand-in for ``rfc3987_syntax``, put first on the single-user servers' ``PYTHONPATH``.

``jsonschema`` imports ``rfc3987_syntax`` eagerly for its ``iri`` format checker, and that import compiles
about 35 Lark parsers: ~1.9 s of every Jupyter server's start on this machine, although no Jupyter schema
uses the ``iri`` format (jupyter-server/jupyter_server#1559, python-jsonschema/jsonschema#1428). This module
offers the same function and imports the real package on its first call, so validation is unchanged.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

_SHIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_real: ModuleType | None = None


def _load_real() -> ModuleType:
    """Import the installed ``rfc3987_syntax`` with this directory hidden from ``sys.path``."""
    shim = sys.modules.pop(__name__)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _SHIM_DIR]
    try:
        return importlib.import_module(__name__)
    finally:
        sys.path[:] = saved
        sys.modules[__name__] = shim


def is_valid_syntax(term: str, value: str) -> bool:
    """``rfc3987_syntax.is_valid_syntax``, loaded on first use."""
    global _real
    if _real is None:
        _real = _load_real()
    return bool(_real.is_valid_syntax(term, value))
