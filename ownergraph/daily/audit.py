"""Audit: a ``Run`` node per writing run, and the run id on everything it made.

``start_run`` writes the node (who, when, which command, mode, inputs) before the stages
run; ``finish_run`` stamps the run id on every node and derived edge the run created
(``Store.stamp_run``) and records the counts. ``ownergraph run`` records mode ``full`` or
``incremental``; every other writing command (``load ads``, ``owners detect``, ...) runs
inside ``recorded`` and records mode ``command``. Who: ``$OWNERGRAPH_USER``, else the project's
``[run] user``, else the login name. Commands are stored with any ``user:password@`` of a
URI removed.
"""

from __future__ import annotations

import getpass
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ownergraph import settings
from ownergraph.store.base import Store

log = logging.getLogger(__name__)
USER_ENV = "OWNERGRAPH_USER"
PIPELINE_MODES = ("full", "incremental")  # ``ownergraph run``
COMMAND_MODE = "command"  # one writing command (load ads, owners detect, ...)
_CREDENTIALS = re.compile(r"//[^/@\s]*@")


def who(configured: str | None = None) -> str:
    """The person (or service) a run is recorded under."""
    name = settings.get(USER_ENV) or configured
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no login name (e.g. a container without passwd)
            name = "unknown"
    return name


def clean_command(command: str) -> str:
    """The command line with credentials in URIs removed."""
    return _CREDENTIALS.sub("//", command)


@dataclass
class RunRecord:
    id: str
    who: str
    command: str
    mode: str
    started_ts: int
    stages: tuple[str, ...] = ()
    inputs: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)


def new_run_id(ts: float | None = None) -> str:
    """``run-<UTC time to the microsecond>-<random>``: ids sort in start order, so two
    runs started within one second still list in the order they ran."""
    ts = ts if ts is not None else time.time()
    micro = int(ts % 1 * 1e6)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ts)) + f".{micro:06d}Z"
    return f"run-{stamp}-{uuid.uuid4().hex[:6]}"


def start_run(
    store: Store,
    command: str,
    *,
    mode: str = "full",
    stages: tuple[str, ...] = (),
    user: str | None = None,
    inputs: list[dict[str, Any]] | None = None,
) -> RunRecord:
    """Record the start of a writing run (status ``running``)."""
    now = time.time()
    rec = RunRecord(
        id=new_run_id(now),
        who=who(user),
        command=clean_command(command),
        mode=mode,
        started_ts=int(now),
        stages=tuple(stages),
        inputs=list(inputs or []),
    )
    store.upsert_nodes("Run", [_row(rec, "running")])
    return rec


def finish_run(
    store: Store, rec: RunRecord, counts: dict[str, Any], status: str = "done"
) -> dict[str, int]:
    """Stamp the run id on what the run made and record its counts; returns the stamps.

    A failed run stamps nothing: what it loaded stays unstamped, so the next incremental
    run takes it as new (and its input files are not counted as loaded)."""
    stamped = store.stamp_run(rec.id) if status == "done" else {}
    rec.counts = {**counts, "stamped": stamped}
    store.upsert_nodes("Run", [_row(rec, status, finished_ts=int(time.time()))])
    return stamped


def fail_run(store: Store, rec: RunRecord, counts: dict[str, Any]) -> None:
    """Record ``rec`` as failed, if the store still can: the store may be what failed,
    and then its error, not a second one from here, is what the caller must see."""
    try:
        finish_run(store, rec, counts, status="failed")
    except Exception:  # noqa: BLE001
        log.warning("could not record run %s as failed", rec.id)


@contextmanager
def recorded(
    store: Store, command: str, *, stage: str
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """One writing command as a run of mode ``command``. Yields a function that takes
    the stage's summary (``to_dict()``); its numbers are the run's counts under ``stage``,
    as a ``run`` records them. A failed command is recorded as failed, stamps nothing and
    its error propagates."""
    store.init_schema()  # a store made before Run nodes existed
    rec = start_run(store, command, mode=COMMAND_MODE, stages=(stage,))
    counts: dict[str, Any] = {stage: {}}
    try:
        yield lambda summary: counts[stage].update(numbers(summary))
    except BaseException:
        fail_run(store, rec, counts)
        raise
    finish_run(store, rec, counts)


def numbers(summary: dict[str, Any]) -> dict[str, int | float]:
    """The numbers of a stage summary (its ``to_dict()``), for a Run node's counts."""
    return {k: v for k, v in summary.items() if isinstance(v, int | float)}  # bools too


def _row(rec: RunRecord, status: str, finished_ts: int | None = None) -> dict[str, Any]:
    return {
        "id": rec.id,
        "who": rec.who,
        "command": rec.command,
        "mode": rec.mode,
        "status": status,
        "started_ts": rec.started_ts,
        "finished_ts": finished_ts,
        "stages": ",".join(rec.stages),
        "counts": json.dumps(rec.counts, sort_keys=True, default=str),
        "inputs": json.dumps(rec.inputs, sort_keys=True),
    }


def list_runs(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs first, with their counts decoded."""
    rows = store.query(
        "MATCH (r:Run) RETURN r.id AS id, r.who AS who, r.command AS command, r.mode AS mode, "
        "r.status AS status, r.started_ts AS started_ts, r.finished_ts AS finished_ts, "
        "r.stages AS stages, r.counts AS counts, r.inputs AS inputs "
        "ORDER BY r.started_ts DESC, r.id DESC LIMIT $limit",
        {"limit": int(limit)},
    )
    for r in rows:
        r["counts"] = json.loads(r["counts"] or "{}")
        r["inputs"] = json.loads(r["inputs"] or "[]")
    return rows


def loaded_inputs(store: Store) -> set[str]:
    """Digests of the input files earlier finished ``run``s loaded (for incremental runs)."""
    rows = store.query(
        "MATCH (r:Run) WHERE r.status = 'done' AND r.mode IN $modes RETURN r.inputs AS inputs",
        {"modes": list(PIPELINE_MODES)},
    )
    out: set[str] = set()
    for r in rows:
        for item in json.loads(r["inputs"] or "[]"):
            if item.get("sha256"):
                out.add(item["sha256"])
    return out


def unprocessed_runs(store: Store) -> list[str]:
    """Finished ``command`` runs after the last finished ``run`` (full or incremental):
    what they loaded (e.g. ``load ads``) is stamped with their id, yet no pipeline run has
    linked it, so the next incremental run takes it as new."""
    rows = store.query("MATCH (r:Run) WHERE r.status = 'done' RETURN r.id AS id, r.mode AS mode")
    last = max((r["id"] for r in rows if r["mode"] in PIPELINE_MODES), default="")
    return sorted(r["id"] for r in rows if r["mode"] == COMMAND_MODE and r["id"] > last)
