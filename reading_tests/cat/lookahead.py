"""Look-ahead: the next items for every possible answer, so a page survives a network drop.

For the item currently shown, :func:`lookahead` returns a binary tree

    {"item_id": X, "finished": False,
     "after": {"0": {"item_id": Y0, "finished": False, "after": {"0": {...}, "1": {...}}},
               "1": {"item_id": Y1, ...}}}

where ``after[r]`` is the node the session reaches once the student answers r (0 wrong, 1 right) to
the node's item.  With ``depth = 2`` the page holds the next two items whatever the answers are
(2 + 4 = 6 items in all besides the current one), so a student can answer the current item and two
more without the server.  A node with ``"finished": True`` and ``"item_id": None`` means the test ends
there.  The page later sends the answers; the server replays them with
:meth:`~reading_tests.cat.session.CatSession.record` and reaches exactly the same items, because every
choice, including exposure control's random ones, is a pure function of the stored state
(:mod:`reading_tests.cat.rng`).  The session passed in is never mutated.
"""

from __future__ import annotations

from typing import Any

from reading_tests.cat.session import CatSession
from reading_tests.errors import InvalidInput


def lookahead(session: CatSession, depth: int = 2) -> dict[str, Any]:
    """The current item and the items that would follow each answer, ``depth`` answers deep.

    Node(s) = {"item_id": next_item(s), "finished": next_item(s) is None,
    "after": {"0": Node(record(s, 0)), "1": Node(record(s, 1))}} while depth remains; the tree has
    ``2^(depth+1) − 1`` nodes at most.

    Parameters
    ----------
    session : CatSession
        A live session (copied, never modified).  If no item is pending, the root is the item
        :meth:`CatSession.next_item` would choose.
    depth : int
        Number of future answers to branch on (≥ 0; 2 covers a drop of two items).

    Returns
    -------
    dict
        JSON-friendly tree as described in the module docstring.
    """
    if depth < 0:
        raise InvalidInput(f"the look-ahead depth must be ≥ 0 (got {depth})")
    return _node(session.clone(), depth)


def _node(session: CatSession, depth: int) -> dict[str, Any]:
    item = session.next_item()
    node: dict[str, Any] = {"item_id": item, "finished": item is None}
    if item is not None and depth > 0:
        after: dict[str, Any] = {}
        for response in (0, 1):
            branch = session.clone() if response == 0 else session
            branch.record(item, response)
            after[str(response)] = _node(branch, depth - 1)
        node["after"] = after
    return node
