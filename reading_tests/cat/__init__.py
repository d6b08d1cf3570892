"""Computerized adaptive testing (CAT) for reading-comprehension items.

One module per CAT stage, as in catsim:

* :mod:`~reading_tests.cat.bank` – the immutable item pool and its precomputed tables;
* :mod:`~reading_tests.cat.estimation` – incremental EAP θ̂ on a grid;
* :mod:`~reading_tests.cat.selection` – maximum information, content balancing, exposure control;
* :mod:`~reading_tests.cat.stopping` – SE target and minimum/maximum length;
* :mod:`~reading_tests.cat.session` – a live, serialisable session (adaptive or fixed form);
* :mod:`~reading_tests.cat.lookahead` – the next items for every answer, for network drops;
* :mod:`~reading_tests.cat.simulation` – Monte Carlo studies and Sympson–Hetter calibration.
"""

from reading_tests.cat.bank import CatPool
from reading_tests.cat.lookahead import lookahead
from reading_tests.cat.selection import ContentBalancer, ExposureControl
from reading_tests.cat.session import CatDesign, CatSession
from reading_tests.cat.simulation import calibrate_sympson_hetter, information_bound, simulate
from reading_tests.cat.stopping import StoppingRule

__all__ = [
    "CatDesign",
    "CatPool",
    "CatSession",
    "ContentBalancer",
    "ExposureControl",
    "StoppingRule",
    "calibrate_sympson_hetter",
    "information_bound",
    "lookahead",
    "simulate",
]
