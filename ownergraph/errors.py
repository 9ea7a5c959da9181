"""The one base of every error ownergraph reports to a user.

Each library error (``StoreError``, ``InputError``, ``RateError``, ``QueryError``, ...)
also inherits ``OwnergraphError``, alongside the built-in base it always had
(``ValueError``, ``RuntimeError``, ``LookupError``), so existing ``except`` clauses keep
working. The CLI has one boundary (``ownergraph.cli``): an ``OwnergraphError`` leaving a
command is printed as ``error: <message>`` and exits with ``exit_code``; anything else is
a bug and keeps its traceback.

No imports: every layer, the store included, may import it.
"""

from __future__ import annotations


class OwnergraphError(Exception):
    """A problem with the user's input, data, store or settings (the message says which
    record and why), as opposed to a bug."""

    exit_code = 1
