"""One key per place for counting places: the only function that says when two written
places are the same place (used by the owner indicators' ``states``, ``cities`` and
``moves``).

This is a stopgap for the obvious cases, not a gazetteer: case, spacing and punctuation
are folded, and a trailing US state ("Odessa, Texas", "Odessa, TX") is dropped from the
city when it names the ad's state (or gives the state when the ad has none). A trailing
state that contradicts the ad's state is kept, so the two stay distinct. Point
:func:`place_key` at ``ownergraph.places.place_key`` (issue 19) once that exists.
"""

from __future__ import annotations

import re
from typing import Any

from ownergraph.loaders.us_states import state_code

_SPACE = re.compile(r"\s+")
_TRAIL = re.compile(r"^(?P<city>.+?)\s*,\s*(?P<state>[A-Za-z .]+?)\.?\s*$")


def _text(v: Any) -> str:
    if v is None or (not isinstance(v, str) and v != v):  # None or NaN
        return ""
    return _SPACE.sub(" ", str(v)).strip()


def place_key(state: Any, city: Any) -> tuple[str | None, str | None]:
    """``(state code, city key)`` of a written place; ``None`` where it is unknown.

    >>> place_key("TX", "Odessa, Texas"), place_key(None, "Odessa, TX")
    (('TX', 'odessa'), ('TX', 'odessa'))
    """
    st = _text(state)
    code = state_code(st) if st else None
    if st and code is None:
        code = st.upper()  # not a US state: kept as written, upper-cased
    c = _text(city)
    m = _TRAIL.match(c)
    if m:
        named = state_code(m.group("state").strip())
        if named is not None and (code is None or named == code):
            code, c = named, m.group("city")
    key = c.casefold().strip(" .,") or None
    return code, key
