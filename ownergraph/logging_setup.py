"""Logging for the command line: one stderr handler that never prints secrets or identifiers.

ownergraph itself prints through the CLI only; libraries it uses log (the Neo4j driver
logs routing and connection warnings). ``configure_logging`` sends every log record
through ``RedactingFilter``, which replaces the values of secret environment variables
(``NEO4J_PASSWORD``, ``OWNERGRAPH_HMAC_KEY``, ...), ``user:password@`` parts of URIs,
phone-number-like digit runs and e-mail addresses with ``[redacted]``. The driver's own
warnings and errors end up in the CLI's own error message (``StoreError``), so its logger
is quiet unless ``OWNERGRAPH_LOG_LEVEL`` (default WARNING) is INFO or DEBUG.
"""

from __future__ import annotations

import logging
import re

from ownergraph import settings

SECRET_ENV = settings.SECRETS  # redacted wherever they appear
REDACTED = "[redacted]"
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_PHONE = re.compile(r"(?<!\w)\+?\d(?:[\s().\-/*]{0,3}\d){6,}(?!\w)")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_HANDLER_NAME = "ownergraph-redacting"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with secrets, URI credentials, phone-like numbers and e-mails replaced."""
    for s in secrets:
        if s:
            text = text.replace(s, REDACTED)
    text = _USERINFO.sub(REDACTED + "@", text)
    text = _EMAIL.sub(REDACTED, text)
    return _PHONE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments merged in) through ``redact``."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        env = settings.secret_values()
        self.secrets = tuple(s for s in (*secrets, *env) if s and len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks of logged exceptions are not printed: their text is not filtered.
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(level: str | int | None = None) -> logging.Handler:
    """Install the redacting stderr handler on the root logger (once; idempotent)."""
    root = logging.getLogger()
    for h in root.handlers:
        if h.get_name() == _HANDLER_NAME:
            return h
    level = level or settings.get("OWNERGRAPH_LOG_LEVEL") or "WARNING"
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    if root.level >= logging.WARNING:
        logging.getLogger("neo4j").setLevel(logging.CRITICAL)
    return handler
