"""Every environment variable ownergraph reads, declared once (name, default, help).

This is the only module that reads ``os.environ`` (tests/test_settings.py checks it, and
that the README lists every setting). Values are read when asked for, so a process that
changes its environment (a test, a notebook) sees the change. Secrets are never printed:
``ownergraph.logging_setup`` redacts the values of the ``secret`` ones.

Light to import: the CLI reads its settings at start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable
    default: str | None
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "OWNERGRAPH_STORE",
        "./data/graph.lbug",
        "the store when --store is not given: a folder (embedded LadybugDB) or a "
        "neo4j:// / bolt:// URI",
    ),
    Setting("OWNERGRAPH_HMAC_KEY", None, "key that turns identifiers into HMACs", secret=True),
    Setting("OWNERGRAPH_LOG_LEVEL", "WARNING", "log level of library logs on stderr"),
    Setting("OWNERGRAPH_USER", None, "who runs are recorded under (default: the login name)"),
    Setting("OWNERGRAPH_NEO4J_BATCH", "2500", "Neo4j: rows per write transaction"),
    Setting(
        "OWNERGRAPH_NEO4J_WRITE_WORKERS",
        "2",
        "Neo4j: concurrent transactions writing nodes (a chain load: Tx with their edges)",
    ),
    Setting(
        "OWNERGRAPH_NEO4J_RETRY_SECONDS",
        "60",
        "Neo4j: how long a transaction is retried while the server is unavailable",
    ),
    Setting(
        "OWNERGRAPH_NEO4J_CONNECT_SECONDS",
        None,
        "Neo4j: how long opening waits for the server (default: the retry budget when "
        "OWNERGRAPH_NEO4J_RETRY_SECONDS is set, else 5)",
    ),
    Setting("NEO4J_USER", "neo4j", "Neo4j user"),
    Setting("NEO4J_PASSWORD", None, "Neo4j password", secret=True),
    Setting("NEO4J_DATABASE", "neo4j", "Neo4j database"),
    Setting("NEO4J_AUTH", None, "never used, only redacted from logs (Docker's form)", secret=True),
    Setting("BITCOIN_RPC_USER", None, "Bitcoin node RPC user (`btc load --rpc`)"),
    Setting("BITCOIN_RPC_PASSWORD", None, "Bitcoin node RPC password", secret=True),
    Setting("BITCOIN_RPC_COOKIE", None, "Bitcoin node RPC cookie file"),
    Setting(
        "OWNERGRAPH_MEMORY_LIMIT_GB",
        None,
        "memory (GB) a stage plans for instead of the machine's MemAvailable (0: no check)",
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}
SECRETS = tuple(s.name for s in SETTINGS if s.secret)


def get(name: str) -> str | None:
    """The value of a declared setting: the environment's (when set and not blank), else
    its default. An undeclared name is a programming error."""
    setting = BY_NAME[name]
    value = os.environ.get(name)
    return value if value else setting.default


def is_set(name: str) -> bool:
    """Whether the environment sets ``name`` (not blank)."""
    BY_NAME[name]
    return bool(os.environ.get(name))


def secret_values() -> tuple[str, ...]:
    """The values of the secret settings that are set (for redaction)."""
    return tuple(v for v in (os.environ.get(k, "") for k in SECRETS) if v)


def models_offline() -> None:
    """Keep Hugging Face libraries offline: nothing may download model weights at run time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
