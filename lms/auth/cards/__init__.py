"""QR sign-in cards: a printable per-child secret so that the youngest children never type a password."""
