"""Garbage-collector settings for a long-lived server worker (docs/performance.md, fifth round).

After start-up a worker holds ~250,000 objects that live as long as the process (modules, the item bank
and its caches).  With CPython's defaults every full collection walked all of them: ~200 ms on these
cores, a pause for every request in flight, several times a minute under a class's answers; and the
youngest generation (threshold 700) was collected every few requests, each time walking the objects of
the requests in flight.  Measured on the answer benchmark: ~1 s of collector time per 2,000 requests
before, ~0.02 s after (one worker, `gc.callbacks`).

A frozen object is still freed when its last reference goes; only frozen objects that later become an
unreachable cycle are never reclaimed.  The one piece of start-up state replaced at run time, the item
bank after a promotion, holds no cycles (dropping it leaves nothing for the collector).
"""

from __future__ import annotations

import gc
import threading

# Ten times CPython's default for the youngest generation: cyclic garbage is still collected, after
# at most this many net new container objects (a bounded amount of memory), not every few requests.
YOUNGEST_THRESHOLD = 7_000
OLDER_THRESHOLDS = (20, 20)

_lock = threading.Lock()
_settled = False


def settle_after_startup() -> bool:
    """Move everything alive now into the collector's permanent generation (never scanned again; freed
    normally when its last reference goes) and collect the youngest generation less often.

    Once per process (the first app to start), so a test process that starts many apps does not keep
    freezing their garbage.  Returns whether this call did it."""
    global _settled
    with _lock:
        if _settled:
            return False
        gc.collect()  # what start-up left as garbage is freed, not frozen
        gc.freeze()
        gc.set_threshold(YOUNGEST_THRESHOLD, *OLDER_THRESHOLDS)
        _settled = True
        return True
