"""Counter-based random numbers for reproducible item selection.

Exposure control needs random draws, but a web server must be able to store a session, resume it on
another device, and predict (look ahead) what the session will choose.  Instead of a stateful generator
we derive every draw from ``(session seed, step, draw number)`` with the SplitMix64 finaliser
(Steele, Lea & Flood 2014):

    u = mix(mix(mix(seed) ⊕ step) ⊕ draw) / 2⁶⁴

where ``step`` is the number of items already administered and ``draw`` counts the draws made while
choosing that step's item.  The same state therefore always yields the same choice, the session only
has to store its seed, and a look-ahead that hypothesises answers reproduces the real choices exactly.
"""

from __future__ import annotations

import secrets

_MASK = (1 << 64) - 1
_TWO_POW_M53 = 2.0**-53


def _mix(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def uniform(seed: int, step: int, draw: int) -> float:
    """A uniform number in [0, 1) that is a pure function of ``(seed, step, draw)``.

    ``u = ⌊mix(mix(mix(seed) ⊕ step) ⊕ draw) / 2¹¹⌋ · 2⁻⁵³`` with SplitMix64's ``mix``.

    Parameters
    ----------
    seed : int
        Session seed (any integer; reduced modulo 2⁶⁴).
    step : int
        Number of items administered so far (≥ 0).
    draw : int
        Index of the draw within the step (≥ 0).

    Returns
    -------
    float
    """
    z = _mix(_mix(_mix(seed & _MASK) ^ step) ^ draw)
    return (z >> 11) * _TWO_POW_M53


def new_seed() -> int:
    """A fresh 53-bit session seed from the OS entropy (exact as a JSON number, even in JavaScript)."""
    return secrets.randbits(53)
