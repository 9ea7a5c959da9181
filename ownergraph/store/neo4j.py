"""The Neo4j 5 store: official driver, managed transactions, ``UNWIND $rows`` batches.

Uniqueness constraints and indexes come from the same schema declaration as the
embedded store. Writes MERGE on the key in batches (default 10,000 rows) inside
managed transactions, which the driver retries on transient faults; reads run in
read transactions, so the server refuses writes unless ``write=True``.
Credentials come from the environment (``NEO4J_USER``, ``NEO4J_PASSWORD``) and are
never printed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
from neo4j import GraphDatabase
from neo4j.exceptions import (
    AuthError,
    ConfigurationError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from ownergraph import settings
from ownergraph.store.base import Rows, Store, StoreError, edge_frame, node_frame, records
from ownergraph.store.schema import RelType

# Rows per transaction ($OWNERGRAPH_NEO4J_BATCH, default 2,500). Measured on the dev
# server (2 cores, 100k ads of 13 properties): 10k-row transactions ran at ~13k rows/s,
# 5k at ~19k, 2.5k with two writers at ~25k.
BATCH_ENV = "OWNERGRAPH_NEO4J_BATCH"
# Nodes + edges per transaction when nodes are created with their edges (a chain load:
# ~1,000 transactions with their ~3,700 inputs/outputs). On the dev server (100k chain
# transactions, 2 shared cores) 1,000 transactions per batch beat 250, 500 and 2,500 in a
# first run at load ~8; later, at load 2.5-3.8, batches of 1,000-20,000 nodes and edges
# could not be told apart: runs of one setting spread over 3k-6.7k tx/s.
CREATE_BATCH_ENTITIES = 5_000


def _redact_uri(uri: str) -> str:
    """The URI without any user:password@ part."""
    scheme, sep, rest = uri.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else uri


def _userinfo(uri: str) -> tuple[str | None, str | None]:
    """``(user, password)`` from a ``scheme://user:password@host`` URI (percent-decoded)."""
    _, sep, rest = uri.partition("://")
    info, at, _ = rest.rpartition("@")
    if not sep or not at:
        return None, None
    user, colon, password = info.partition(":")
    return unquote(user) or None, unquote(password) if colon else None


CONNECT_ENV = "OWNERGRAPH_NEO4J_CONNECT_SECONDS"
DEFAULT_CONNECT_SECONDS = 5.0


def _connect_seconds(given: float | None) -> float:
    """How long opening waits for the server: given, else $OWNERGRAPH_NEO4J_CONNECT_SECONDS,
    else the retry budget when one is set ($OWNERGRAPH_NEO4J_RETRY_SECONDS: a re-run that
    should ride out a restart), else 5 s (a server that is down fails fast)."""
    if given is not None:
        return given
    for env in (CONNECT_ENV, "OWNERGRAPH_NEO4J_RETRY_SECONDS"):
        if settings.is_set(env):
            return float(settings.get(env))  # type: ignore[arg-type]
    return DEFAULT_CONNECT_SECONDS


class Neo4jStore(Store):
    """A Neo4j database reached over Bolt."""

    dialect = "neo4j"
    capabilities = frozenset({"gds"})

    def __init__(
        self,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        batch_size: int | None = None,
        retry_seconds: float | None = None,
        connect_seconds: float | None = None,
        connect_timeout: float = 30.0,
        write_workers: int | None = None,
    ) -> None:
        # Credentials in the URI are taken out of it: the driver rejects them and would
        # echo the whole URI (password included) in its error message.
        self.uri = _redact_uri(uri)
        self.database = database or settings.get("NEO4J_DATABASE") or "neo4j"
        self.batch_size = batch_size or int(settings.get(BATCH_ENV) or 2500)
        # Node batches (distinct keys, so no lock conflicts) are written by this many
        # concurrent transactions: the client packs one batch while the server merges another.
        workers = write_workers or int(settings.get("OWNERGRAPH_NEO4J_WRITE_WORKERS") or 2)
        self.write_workers = max(1, workers)
        uri_user, uri_password = _userinfo(uri)
        user = user if user is not None else uri_user or settings.get("NEO4J_USER")
        if password is None:
            password = uri_password or settings.get("NEO4J_PASSWORD")
        auth = (user, password) if password else None
        retry = retry_seconds
        if retry is None:
            retry = float(settings.get("OWNERGRAPH_NEO4J_RETRY_SECONDS") or 60)
        try:
            self._driver = GraphDatabase.driver(
                self.uri,
                auth=auth,
                max_transaction_retry_time=retry,
                connection_timeout=connect_timeout,
            )
        except (ConfigurationError, ValueError) as exc:
            raise StoreError(f"bad Neo4j store URI {self.uri}: {exc}") from None
        self._wait_until_up(_connect_seconds(connect_seconds))
        self._check_database()

    def _check_database(self) -> None:
        try:
            with self._driver.session(database=self.database) as session:
                session.run("RETURN 1").consume()
        except Neo4jError as exc:
            self._driver.close()
            if "DatabaseNotFound" in (exc.code or ""):
                raise StoreError(
                    f"Neo4j at {self.uri} has no database {self.database!r} "
                    "(set NEO4J_DATABASE; SHOW DATABASES lists them)"
                ) from None
            raise StoreError(f"{exc.code}: {exc.message}") from None

    def _wait_until_up(self, seconds: float) -> None:
        deadline = time.monotonic() + max(seconds, 1.0)
        delay = 0.5
        while True:
            try:
                self._driver.verify_connectivity()
                return
            except AuthError as exc:
                self._driver.close()
                raise StoreError(f"Neo4j at {self.uri} refused the credentials") from exc
            except (ServiceUnavailable, SessionExpired, OSError) as exc:
                if time.monotonic() >= deadline:
                    self._driver.close()
                    raise StoreError(
                        f"Neo4j at {self.uri} is not reachable after {seconds:.0f}s "
                        f"({' '.join(str(exc).split())}); "
                        "is the server running and the address right? Start it or fix --store; "
                        f"{CONNECT_ENV}=SECONDS waits longer"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    # -- schema ---------------------------------------------------------------------
    def init_schema(self) -> None:
        stmts = []
        for n in self.schema.nodes:
            stmts.append(
                f"CREATE CONSTRAINT {n.label.lower()}_{n.key} IF NOT EXISTS "
                f"FOR (n:{n.label}) REQUIRE n.{n.key} IS UNIQUE"
            )
            for prop in n.indexes:
                stmts.append(
                    f"CREATE INDEX {n.label.lower()}_{prop} IF NOT EXISTS "
                    f"FOR (n:{n.label}) ON (n.{prop})"
                )
        for s in stmts:
            self._execute(s, None, write=True)
        self._execute("CALL db.awaitIndexes(300)", None, write=True)

    # -- reads ----------------------------------------------------------------------
    def _execute(
        self, cypher: str, params: Mapping[str, Any] | None, *, write: bool
    ) -> list[dict[str, Any]]:
        def work(tx: Any) -> list[dict[str, Any]]:
            return [r.data() for r in tx.run(cypher, dict(params or {}))]

        try:
            with self._driver.session(database=self.database) as session:
                run = session.execute_write if write else session.execute_read
                return run(work)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise StoreError(f"Neo4j at {self.uri} is unavailable: {exc}") from exc
        except Neo4jError as exc:
            raise StoreError(f"{exc.code}: {exc.message}") from exc

    def query(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> list[dict[str, Any]]:
        return self._execute(cypher, params, write=write)

    # -- writes ---------------------------------------------------------------------
    def _batched(self, cypher: str, rows: list[dict[str, Any]], *, parallel: bool = False) -> None:
        size = self.batch_size
        batches = [{"rows": rows[i : i + size]} for i in range(0, len(rows), size)]
        if parallel:
            self._run_batches(cypher, batches)
        else:
            for batch in batches:
                self._execute(cypher, batch, write=True)

    def upsert_nodes(self, label: str, rows: Rows) -> int:
        node = self.schema.node(label)
        df = node_frame(node, rows)
        if df.empty:
            return 0
        if self._label_is_empty(label):
            # a first load of this label: keys are unique after node_frame and nothing
            # exists to merge with, so CREATE (the uniqueness constraint still guards)
            q = f"UNWIND $rows AS r CREATE (n:{label}) SET n = r"
        else:
            q = f"UNWIND $rows AS r MERGE (n:{label} {{{node.key}: r.{node.key}}}) SET n += r"
        self._batched(q, records(df), parallel=True)  # keys are unique after node_frame
        return len(df)

    def _label_is_empty(self, label: str) -> bool:
        return not self._execute(f"MATCH (n:{label}) RETURN 1 AS one LIMIT 1", None, write=False)

    def _rel_is_empty(self, rel: RelType) -> bool:
        q = f"MATCH (:{rel.src})-[e:{rel.type}]->(:{rel.dst}) RETURN 1 AS one LIMIT 1"
        return not self._execute(q, None, write=False)

    def upsert_nodes_with_edges(
        self, label: str, rows: Rows, edges: Mapping[str, Rows]
    ) -> dict[str, int]:
        """On a first load (no ``label`` node, no edge of the types, every edge's other end
        of one label), one ``UNWIND $rows`` statement per batch CREATEs the nodes, then
        their edges: an edge finds its new node by position in the batch and seeks only
        its other end (one index seek instead of two). Edges go in the order of their
        other end's key, so concurrent batches (``write_workers``) lock shared end nodes
        in one order and cannot deadlock. Otherwise the upsert path."""
        node = self.schema.node(label)
        df = node_frame(node, rows)
        rels = {t: self.schema.rel(t) for t in edges}
        frames = {t: edge_frame(rels[t], e) for t, e in edges.items()}
        mine = {}
        for t, rel in rels.items():
            if label not in (rel.src, rel.dst):
                raise StoreError(f"{t} edges neither start nor end at {label}")
            mine[t] = "src" if rel.src == label else "dst"
        ends = {rel.dst if mine[t] == "src" else rel.src for t, rel in rels.items()}
        first = not df.empty and len(ends) == 1 and self._label_is_empty(label)
        if not first or not all(self._rel_is_empty(r) for r in rels.values()):
            return super().upsert_nodes_with_edges(label, df, frames)
        end = self.schema.node(ends.pop())
        position = {key: i for i, key in enumerate(df[node.key].tolist())}
        # one edge: [other end's key, node position, kind, [properties]]
        edge_rows: list[list[Any]] = []
        creates = []
        for k, t in enumerate(rels):
            e = frames[t]
            other = "dst" if mine[t] == "src" else "src"
            props = [c for c in e.columns if c not in ("src", "dst")]
            cols = pa.Table.from_pandas(e[[mine[t], other, *props]], preserve_index=False)
            for key, other_key, *values in zip(*cols.to_pydict().values(), strict=True):
                edge_rows.append([other_key, position.get(key, -1), k, values])
            sets = ", ".join(f"{p}: x[3][{i}]" for i, p in enumerate(props))
            a, b = ("n", "m") if mine[t] == "src" else ("m", "n")
            creates.append(
                f"FOREACH (_ IN CASE WHEN x[2] = {k} THEN [1] ELSE [] END | "
                f"CREATE ({a})-[:{t} {{{sets}}}]->({b})) "
            )
        # an edge whose own node is not in the rows: counted as not made, then named
        edge_rows = [x for x in edge_rows if x[1] >= 0]
        q = (
            f"UNWIND $rows AS r CREATE (n:{label}) SET n = r WITH collect(n) AS ns "
            f"UNWIND $edges AS x MATCH (m:{end.label} {{{end.key}: x[0]}}) "
            "WITH ns[x[1]] AS n, m, x " + "".join(creates) + "RETURN x[2] AS kind, count(*) AS made"
        )
        recs = records(df)
        by_node: list[list[list[Any]]] = [[] for _ in recs]
        for x in edge_rows:
            by_node[x[1]].append(x)
        batches: list[dict[str, Any]] = []
        rows_part: list[dict[str, Any]] = []
        edges_part: list[list[Any]] = []
        for i, rec in enumerate(recs):
            for x in by_node[i]:
                edges_part.append([x[0], len(rows_part), x[2], x[3]])
            rows_part.append(rec)
            if len(rows_part) + len(edges_part) >= CREATE_BATCH_ENTITIES or i == len(recs) - 1:
                edges_part.sort(key=lambda x: x[0])  # one lock order for every batch
                batches.append({"rows": rows_part, "edges": edges_part})
                rows_part, edges_part = [], []
        made = [0] * len(rels)
        for result in self._run_batches(q, batches):
            for r in result:
                made[r["kind"]] += r["made"]
        out = {label: len(df)}
        for k, (t, rel) in enumerate(rels.items()):
            if made[k] < len(frames[t]):  # an end node is missing: name it
                self._check_ends(rel, frames[t])
            out[t] = len(frames[t])
        return out

    def _run_batches(self, cypher: str, batches: list[dict[str, Any]]) -> list[Any]:
        """Each batch of parameters in its own write transaction, ``write_workers`` at a
        time; results in batch order."""
        if self.write_workers == 1 or len(batches) == 1:
            return [self._execute(cypher, b, write=True) for b in batches]
        with ThreadPoolExecutor(self.write_workers) as pool:
            futures = [pool.submit(self._execute, cypher, b, write=True) for b in batches]
            # the first failure is raised; the others finish or fail alike
            return [f.result() for f in futures]

    def upsert_edges(self, rel_type: str, rows: Rows) -> int:
        rel = self.schema.rel(rel_type)
        df = edge_frame(rel, rows)
        if df.empty:
            return 0
        src, dst = self.schema.node(rel.src), self.schema.node(rel.dst)
        first = self._rel_is_empty(rel)
        if not first:
            self._check_ends(rel, df)
        props = [c for c in df.columns if c not in ("src", "dst")]
        recs = [
            {"src": r["src"], "dst": r["dst"], "props": {c: r[c] for c in props}}
            for r in records(df)
        ]
        match = (
            f"UNWIND $rows AS r MATCH (a:{rel.src} {{{src.key}: r.src}}) "
            f"MATCH (b:{rel.dst} {{{dst.key}: r.dst}}) "
        )
        if first:
            # a first load of this type: (src, dst) pairs are unique (edge_frame), nothing
            # to merge with; a row whose end is missing matches nothing, so count them
            q = match + f"CREATE (a)-[e:{rel.type}]->(b) SET e = r.props RETURN count(*) AS n"
            made = 0
            for i in range(0, len(recs), self.batch_size):
                batch = recs[i : i + self.batch_size]
                made += self._execute(q, {"rows": batch}, write=True)[0]["n"]
            if made < len(recs):
                self._check_ends(rel, df)
            return len(df)
        self._batched(match + f"MERGE (a)-[e:{rel.type}]->(b) SET e += r.props", recs)
        return len(df)

    def delete_edges(self, rel_type: str) -> None:
        rel = self.schema.rel(rel_type)
        self._delete(f"MATCH (:{rel.src})-[e:{rel.type}]->(:{rel.dst})", "e")

    def delete_nodes(self, label: str) -> None:
        self.schema.node(label)
        self._delete(f"MATCH (n:{label})", "n", detach=True)

    def clear(self) -> None:
        """Delete every node and edge of the database (any label), in bounded batches."""
        self._delete("MATCH (n)", "n", detach=True)

    def _delete(self, match: str, var: str, *, detach: bool = False) -> None:
        """Delete in bounded batches so a large delete does not exhaust server memory."""
        verb = "DETACH DELETE" if detach else "DELETE"
        while True:
            rows = self._execute(
                f"{match} WITH {var} LIMIT $n {verb} {var} RETURN count(*) AS c",
                {"n": self.batch_size},
                write=True,
            )
            if not rows or rows[0]["c"] == 0:
                return

    def close(self) -> None:
        self._driver.close()
