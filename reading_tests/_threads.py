"""Run NumPy's BLAS on one thread inside the EM and scoring loops (private).

The E-step products are medium-sized (students × items × nodes).  Multi-threaded OpenBLAS gains less
than 2× on them on an idle two-core machine but loses about 10× when the cores are busy with other
work (measured here: a 3PL calibration took 40 s instead of 4 s at load average 6), because its threads
spin while waiting for each other.  A school server is rarely idle, so we limit BLAS to one thread for
the duration of a calibration, with ``threadpoolctl`` when it is installed (otherwise this is a no-op).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Context manager limiting BLAS to one thread (no-op without ``threadpoolctl``)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
