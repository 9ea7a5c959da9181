"""The one base of every error ownergraph reports to a user.

Each library error (``StoreError``, ``InputError``, ``RateError``, ``QueryError``, ...)
also inherits ``OwnergraphError``, alongside the built-in base it always had
(``ValueError``, ``RuntimeError``, ``LookupError``), so existing ``except`` clauses keep
working. The CLI has one boundary (``ownergraph.cli``): an ``OwnergraphError`` leaving a
command is printed as ``error: <message>`` and exits with ``exit_code``; anything else is
a bug and keeps its traceback.

Only the standard library: every layer, the store included, may import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class OwnergraphError(Exception):
    """A problem with the user's input, data, store or settings (the message says which
    record and why), as opposed to a bug."""

    exit_code = 1


class UsageError(OwnergraphError):
    """Options or arguments a command cannot use together, or an input it cannot open
    (exit 2, as for a usage error)."""

    exit_code = 2


class CommandError(OwnergraphError):
    """A command ran but could not do its job (e.g. nothing was loaded); exit 1."""


@contextmanager
def reported_as(
    cls: type[OwnergraphError], *types: type[BaseException], prefix: str = "", hint: str = ""
) -> Iterator[None]:
    """Raise an error of ``types`` leaving the block as ``cls`` (its exit code) with the
    same message: for a library error that is a built-in one (``ValueError``,
    ``OSError``), or that a command reports with another exit code. ``prefix`` and
    ``hint`` go before and after the message."""
    try:
        yield
    except types as exc:
        raise cls(f"{prefix}{exc}{hint}") from exc
