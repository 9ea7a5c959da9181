"""Redaction of phone numbers and e-mail addresses in reports and exports.

Text: every span the identifier extractor finds, then any remaining run of 7+ digits and
anything shaped like an address, becomes ``[phone]``/``[email]``. Tables and pictures tell
identifiers apart by a short keyed digest (HMAC-SHA256 with ``hmac_key``) or, without a
key, by a number within the report. URLs keep their last path segment when it is a bare
number that is none of the ad's own phone numbers: that is the site's ad id, and masking
it would break the link.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

_DIGITS = re.compile(r"(?<![\w])(?:\+?\d[\s().\-/]{0,3}){7,}\d?(?![\w])")
_EMAILISH = re.compile(
    r"[\w.+\-]+\s*(?:@|\(at\)|\[at\])\s*[\w\-]+(?:\s*(?:\.|\(dot\)|\[dot\])\s*[\w\-]+)+"
)
TAGS = ("[phone]", "[email]")


class Redactor:
    """Replaces identifiers in text and labels them in tables."""

    def __init__(self, enabled: bool, hmac_key: bytes | None = None) -> None:
        self.enabled = enabled
        self.key = hmac_key
        self._numbers: dict[str, int] = {}

    def text(self, value: str | None) -> str:
        if not value:
            return ""
        if not self.enabled:
            return value
        from ownergraph.loaders.identifiers import extract_emails, extract_phones

        out = value
        for _ in range(50):  # the extractor reports each identifier once: repeat
            found = [(m.raw, "[email]") for m in extract_emails(out)]
            found += [(m.raw, "[phone]") for m in extract_phones(out)]
            found = [(raw, tag) for raw, tag in found if raw and raw not in TAGS]
            if not found:
                break
            for raw, tag in sorted(found, key=lambda x: -len(x[0])):
                out = out.replace(raw, tag)
        out = _EMAILISH.sub("[email]", out)
        return _DIGITS.sub("[phone]", out)

    def url(self, value: str | None, phones: Iterable[str] = ()) -> str:
        """A URL with identifiers masked but its trailing numeric ad id kept.

        ``phones``: the ad's phone numbers (E.164); a trailing number that is one of them
        (with or without the country code) is masked like any other.
        """
        if not value or not self.enabled:
            return value or ""
        parts = urlsplit(value)
        segments = parts.path.split("/")
        digits = {re.sub(r"\D", "", p) for p in phones}
        own = digits | {d[1:] for d in digits if d.startswith("1") and len(d) == 11}
        keep = segments[-1] if segments[-1].isdigit() and segments[-1] not in own else None
        head = segments[:-1] if keep is not None else segments
        path = "/".join(self.text(s) if s else s for s in head)
        if keep is not None:
            path += "/" + keep
        rest = [self.text(x) if x else x for x in (parts.query, parts.fragment)]
        return urlunsplit((parts.scheme, self.text(parts.netloc), path, *rest))

    def identifier(self, kind: str, value: str) -> str:
        """A table/picture label for an identifier (phone, email); others pass through."""
        if not self.enabled or kind not in ("phone", "email"):
            return value
        if value.startswith("hmac-sha256:"):
            return f"[{kind}] {value.split(':', 1)[1][:10]}"
        if self.key:
            digest = hmac.new(self.key, value.encode("utf-8"), hashlib.sha256).hexdigest()
            return f"[{kind}] {digest[:10]}"
        same_kind = sum(1 for k in self._numbers if k.startswith(kind + ":"))
        n = self._numbers.setdefault(f"{kind}:{value}", same_kind + 1)
        return f"[{kind}] #{n}"
