"""The store interface every backend implements, and ``open_store`` to pick one.

Writes take whole batches ("upsert these nodes / edges") so that each engine can use
its own best path: LadybugDB de-duplicates against existing keys and COPYs what is new;
Neo4j MERGEs in ``UNWIND $rows`` batches inside managed transactions. Reads are Cypher
with parameters; results come back as a list of dicts or a DataFrame.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ownergraph import settings
from ownergraph.errors import OwnergraphError
from ownergraph.store.schema import SCHEMA, NodeType, RelType, Schema

Rows = pd.DataFrame | Iterable[Mapping[str, Any]]

STORE_ENV = "OWNERGRAPH_STORE"
DEFAULT_STORE = settings.BY_NAME[STORE_ENV].default or ""


def keyed_path(anchor: str, path: str, then: str, *, bound: str, keys: str = "$ids") -> str:
    """Cypher that, for each key ``k`` of ``keys``, matches ``anchor`` (a node by key, as
    ``(t:Tx {txid: k})``) and then ``path`` from it, dropping the keys ``path`` does not
    reach (``bound``: a variable ``path`` binds), then ``then`` (``RETURN ...`` or
    ``DELETE e``). A ``WHERE`` inside ``path`` filters the path, as in a ``MATCH``. The
    keys may be rows (maps): ``k.src`` then names a field.

    Written ``MATCH anchor OPTIONAL MATCH path``, not as one pattern: LadybugDB 0.22
    plans ``MATCH (a)-[e]->(t {txid: k})`` as a scan of the relationship table hash-joined
    with scans of both node tables, so a read by 5k keys costs a scan of the store; this
    form is a primary-key lookup and a masked read of the keys' adjacency lists. The
    inputs of 5k transactions: 0.49 s that way and 0.034 s this way on a 525,609-
    transaction chain, 0.042 and 0.026 s on a 99,846 one (``bench_keyed_reads.py``); a
    delete of 5k edges by both ends 29 s and 0.3 s at 500k (scratch). The rows are the
    same, and Neo4j takes both forms alike (0.8-1.1x)."""
    return (
        f"UNWIND {keys} AS k MATCH {anchor} OPTIONAL MATCH {path} "
        f"WITH * WHERE {bound} IS NOT NULL {then}"
    )


class StoreError(OwnergraphError, RuntimeError):
    """A store could not be opened or a write/read failed (message names the cause)."""


def rows_frame(rows: Rows) -> pd.DataFrame:
    """Rows as a DataFrame (a DataFrame is returned as is)."""
    if isinstance(rows, pd.DataFrame):
        return rows
    return pd.DataFrame(list(rows))


def _coerce(df: pd.DataFrame, props: Iterable, label: str) -> pd.DataFrame:
    """The given columns, in declared order, with declared dtypes.

    Columns that are not given are left out (an upsert leaves them untouched on existing
    nodes/edges); a column the schema does not declare is an error, never dropped silently.
    """
    props = list(props)
    declared = {p.name for p in props}
    unknown = [c for c in df.columns if c not in declared and c not in ("src", "dst")]
    if unknown:
        raise StoreError(f"{label}: properties not in the schema: {unknown}")
    out = {}
    for p in props:
        if p.name not in df.columns:
            continue
        col = df[p.name]
        try:
            if p.type == "INT64":
                col = pd.to_numeric(col, errors="raise").astype("Int64")
            elif p.type == "DOUBLE":
                col = pd.to_numeric(col, errors="raise").astype("Float64")
            elif p.type == "BOOL":
                col = col.astype("boolean")
            else:
                col = col.astype("string")
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{label}.{p.name}: values are not {p.type}: {exc}") from exc
        out[p.name] = col
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)


def node_frame(node: NodeType, rows: Rows) -> pd.DataFrame:
    """Validate and normalise node rows: key present and unique (last row wins)."""
    df = rows_frame(rows)
    if len(df) == 0:
        return _coerce(pd.DataFrame(columns=[node.key]), node.props, node.label)
    if node.key not in df.columns or df[node.key].isna().any():
        raise StoreError(f"{node.label} rows need a non-null key {node.key!r}")
    df = df.drop_duplicates(subset=[node.key], keep="last")
    return _coerce(df, node.props, node.label)


def edge_frame(rel: RelType, rows: Rows) -> pd.DataFrame:
    """Validate and normalise edge rows: ``src``, ``dst`` keys plus declared props.

    A (src, dst) pair appears once per relationship type (last row wins).
    """
    df = rows_frame(rows)
    if len(df) == 0:
        df = pd.DataFrame(columns=["src", "dst"])
    for c in ("src", "dst"):
        if c not in df.columns or df[c].isna().any():
            raise StoreError(f"{rel.type} rows need non-null {c!r}")
    df = df.drop_duplicates(subset=["src", "dst"], keep="last")
    props = _coerce(df, rel.props, rel.type)
    ends = pd.DataFrame(
        {"src": df["src"].astype("string").values, "dst": df["dst"].astype("string").values}
    )
    return pd.concat([ends, props], axis=1)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values, nulls (NA, NaN) as None."""
    try:  # Arrow converts typed columns ~3x faster than pandas' object path
        return pa.Table.from_pandas(df, preserve_index=False).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        obj = df.astype(object)
        return obj.where(obj.notna(), None).to_dict("records")


class Store(ABC):
    """A graph store. Every write is idempotent: keys are merged, never duplicated."""

    schema: Schema = SCHEMA
    uri: str = ""
    dialect: str = ""  # "ladybug" or "neo4j": picks named-query variants
    # what the engine can do beyond the interface: "gds" = Neo4j Graph Data Science
    # procedures may be installed (ownergraph.stages.evidence.gds_version asks)
    capabilities: frozenset[str] = frozenset()

    @abstractmethod
    def init_schema(self) -> None:
        """Create tables / constraints / indexes from the schema. Harmless to repeat."""

    @abstractmethod
    def upsert_nodes(self, label: str, rows: Rows) -> int:
        """Create or update nodes by key; returns the number of rows written."""

    @abstractmethod
    def upsert_edges(self, rel_type: str, rows: Rows) -> int:
        """Create or update edges; rows carry ``src`` and ``dst`` keys plus properties.

        Both end nodes must exist; rows whose ends are missing raise ``StoreError``.
        """

    def upsert_nodes_with_edges(
        self, label: str, rows: Rows, edges: Mapping[str, Rows]
    ) -> dict[str, int]:
        """Upsert nodes of ``label`` and edges (per relationship type) that start or end at
        them; the other end nodes must exist. Rows written per label/type. An engine may do
        it in one pass (Neo4j, on a first load: each node created with its edges)."""
        out = {label: self.upsert_nodes(label, rows)}
        for rel_type, edge_rows in edges.items():
            out[rel_type] = self.upsert_edges(rel_type, edge_rows)
        return out

    @abstractmethod
    def delete_edges(self, rel_type: str) -> None:
        """Delete every edge of a type (used when a derived result is replaced)."""

    @abstractmethod
    def delete_nodes(self, label: str) -> None:
        """Delete every node of a label and its edges."""

    def _existing_keys(self, node: NodeType, keys: list[Any]) -> set[Any]:
        """The ``keys`` that name an existing ``node`` (an engine may do it faster)."""
        found = self.query(
            f"UNWIND $keys AS k MATCH (n:{node.label} {{{node.key}: k}}) RETURN k",
            {"keys": keys},
        )
        return {r["k"] for r in found}

    def _check_ends(self, rel: RelType, df: pd.DataFrame) -> None:
        """StoreError naming the keys whose end node does not exist."""
        for end, node in (("src", self.schema.node(rel.src)), ("dst", self.schema.node(rel.dst))):
            keys = sorted(set(df[end]))
            found = self._existing_keys(node, keys)
            missing = [k for k in keys if k not in found]
            if missing:
                raise StoreError(
                    f"{rel.type}: {len(missing)} {end} keys have no {node.label} node, "
                    f"e.g. {missing[:3]}"
                )

    def delete_keys(self, label: str, keys: Iterable[str], chunk: int = 10_000) -> None:
        """Delete the nodes of ``label`` with the given keys, and their edges (a key
        lookup per key: ``WHERE n.key IN $keys`` makes the embedded store test every node
        against the list)."""
        node = self.schema.node(label)
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), chunk):
            self.query(
                f"UNWIND $keys AS k MATCH (n:{label} {{{node.key}: k}}) DETACH DELETE n",
                {"keys": keys[i : i + chunk]},
                write=True,
            )

    def delete_edges_from(
        self, rel_type: str, src_keys: Iterable[str], chunk: int = 10_000
    ) -> None:
        """Delete the edges of ``rel_type`` that start at the given source keys."""
        rel = self.schema.rel(rel_type)
        key = self.schema.node(rel.src).key
        keys = list(dict.fromkeys(src_keys))
        for i in range(0, len(keys), chunk):
            self.query(
                keyed_path(
                    f"(a:{rel.src} {{{key}: k}})",
                    f"(a)-[e:{rel.type}]->(:{rel.dst})",
                    "DELETE e",
                    bound="e",
                    keys="$keys",
                ),
                {"keys": keys[i : i + chunk]},
                write=True,
            )

    def stamp_run(self, run_id: str) -> dict[str, int]:
        """Write ``run = run_id`` on every node and derived edge that has a ``run``
        property and none yet (what this run created); returns how many, per type."""
        out: dict[str, int] = {}
        for n in self.schema.nodes:
            if "run" in n.prop_names:
                q = f"MATCH (n:{n.label}) WHERE n.run IS NULL SET n.run = $run RETURN count(n) AS c"
                out[n.label] = int(self.query(q, {"run": run_id}, write=True)[0]["c"])
        for r in self.schema.rels:
            if "run" in r.prop_names:
                out[r.type] = self._stamp_edges(r, run_id)
        return {k: v for k, v in out.items() if v}

    def _stamp_edges(self, rel: RelType, run_id: str) -> int:
        """Write ``run = run_id`` on the edges of ``rel`` that have none; how many."""
        q = (
            f"MATCH (:{rel.src})-[e:{rel.type}]->(:{rel.dst}) WHERE e.run IS NULL "
            "SET e.run = $run RETURN count(e) AS c"
        )
        return int(self.query(q, {"run": run_id}, write=True)[0]["c"])

    @abstractmethod
    def query(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> list[dict[str, Any]]:
        """Run parameterized Cypher; read-only unless ``write`` is true."""

    def query_df(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> pd.DataFrame:
        return pd.DataFrame(self.query(cypher, params, write=write))

    def query_frame(
        self, cypher: str, columns: list[str], params: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """A read's result with exactly ``columns`` (object columns when it is empty)."""
        df = self.query_df(cypher, params)
        return pd.DataFrame(columns=columns) if df.empty else df.reindex(columns=columns)

    def query_keyed(
        self, cypher: str, ids: Sequence[Any], columns: list[str], chunk: int = 20_000
    ) -> pd.DataFrame:
        """A read of ``cypher`` (``UNWIND $ids AS k MATCH ... {key: k}``: one key lookup
        per id; a path from the key is written with :func:`keyed_path`) over ``ids`` in
        chunks, as one frame with exactly ``columns``. Reads for some ids go this way,
        never ``WHERE x IN $ids``, which tests every row."""
        parts = [
            self.query_frame(cypher, columns, {"ids": list(ids[i : i + chunk])})
            for i in range(0, len(ids), chunk)
        ]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    def counts(self) -> dict[str, int]:
        """Number of nodes per label and edges per relationship type."""
        out: dict[str, int] = {}
        for n in self.schema.nodes:
            out[n.label] = int(self.query(f"MATCH (n:{n.label}) RETURN count(n) AS c")[0]["c"])
        for r in self.schema.rels:
            q = f"MATCH (:{r.src})-[e:{r.type}]->(:{r.dst}) RETURN count(e) AS c"
            out[r.type] = int(self.query(q)[0]["c"])
        return out

    def keys(self, label: str) -> set[str]:
        """Every key of ``label`` (the images loader skips hashes it already holds)."""
        node = self.schema.node(label)
        rows = self.query(f"MATCH (n:{label}) RETURN n.{node.key} AS k")
        return {r["k"] for r in rows}

    def clear(self) -> None:
        """Delete every node and edge (the schema stays): a fresh start for tests and demos."""
        for r in self.schema.rels:
            self.delete_edges(r.type)
        for n in self.schema.nodes:
            self.delete_nodes(n.label)

    @contextmanager
    def bulk(self) -> Iterator[Store]:
        """A run of large writes (a chain load): the engine may defer its housekeeping to
        the end (LadybugDB: one checkpoint instead of one per COPY). Writes inside are
        the same writes; nothing is lost if it raises."""
        yield self

    def release_memory(self) -> None:
        """Give back memory the engine holds as a cache (the store stays open and holds
        the same data); a server store holds none in this process: nothing to do."""
        return None

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
# "scheme:/..." or "scheme://...": a URI, never a file name (one letter is a Windows drive)
_URI_LIKE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):(/|$)")


def open_store(uri: str | None = None, *, create: bool = True, **options: Any) -> Store:
    """Open a store from a URI: a path (embedded LadybugDB) or ``neo4j://``/``bolt://``.

    ``uri`` defaults to ``$OWNERGRAPH_STORE`` then ``./data/graph.lbug``. Neo4j credentials
    come from ``NEO4J_USER``/``NEO4J_PASSWORD`` (never printed); database from
    ``NEO4J_DATABASE`` (default ``neo4j``). An unknown scheme (``neo4:/host``) is an error;
    with ``create=False`` a missing embedded store is an error instead of a new empty one.
    """
    uri = uri or settings.get(STORE_ENV) or DEFAULT_STORE
    m = _URI_LIKE.match(uri)
    scheme = m[1].lower() if m else ""
    if scheme in NEO4J_SCHEMES and uri[len(scheme) :].startswith("://"):
        from ownergraph.store.neo4j import Neo4jStore

        return Neo4jStore(uri, **options)
    if scheme:
        shown = re.sub(r"//[^/@]*@", "//", uri)  # never print user:password@
        raise StoreError(
            f"unknown store address {shown!r}: scheme {scheme!r} is not one of "
            f"{', '.join(s + '://' for s in NEO4J_SCHEMES)}; an embedded store is a folder path"
        )
    if not create and not Path(uri).expanduser().exists():
        raise StoreError(
            f"no store at {uri}: nothing has been loaded there (check --store or "
            f"${STORE_ENV}; 'ownergraph init --store {uri}' or a load creates one)"
        )
    from ownergraph.store.embedded import EmbeddedStore

    return EmbeddedStore(uri, **options)


def remove_store(uri: str | Path) -> None:
    """Delete a store whole: an embedded store's files (the database and its write-ahead
    log), or every node and edge of a Neo4j database. A missing embedded store is fine."""
    uri = str(uri)
    m = _URI_LIKE.match(uri)
    if m and m[1].lower() in NEO4J_SCHEMES:
        with open_store(uri) as s:
            s.clear()
        return
    from ownergraph.store.embedded import EmbeddedStore

    EmbeddedStore.remove(uri)
