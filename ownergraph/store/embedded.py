"""The embedded store: LadybugDB (in-process, on disk, Cypher), no server needed.

Writes follow the measured fast path (DESIGN.md): look up which keys already exist,
``COPY`` the new rows from an Arrow table, and ``MATCH ... SET`` only the existing nodes
whose values differ (an edge whose values differ is deleted and COPYed again: see
``_rewrite_edges``). A re-load of the same data therefore writes nothing, and a load
is idempotent.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ladybug as lb
import pandas as pd
import pyarrow as pa

from ownergraph.store.base import (
    Rows,
    Store,
    StoreError,
    edge_frame,
    keyed_path,
    node_frame,
    records,
)
from ownergraph.store.schema import NodeType, RelType

LOOKUP_CHUNK = 50_000


def _number_columns(types: list[str]) -> dict[int, type]:
    """Columns LadybugDB returns as Decimal: INT128 (what sum() over INT64 gives; Neo4j
    gives int) and DECIMAL. Read back as int and float, so both engines give one type."""
    return {
        i: int if t == "INT128" else float
        for i, t in enumerate(types)
        if t == "INT128" or t.startswith("DECIMAL")
    }


# result column types ``query_df`` reads through Arrow (same values as row by row)
_ARROW_TYPES = frozenset({"STRING", "INT64", "INT32", "INT16", "INT8", "DOUBLE", "FLOAT", "BOOL"})


class EmbeddedStore(Store):
    """A LadybugDB database at ``path`` (created if missing)."""

    dialect = "ladybug"

    def __init__(
        self,
        path: str | Path,
        *,
        copy_batch: int = 1_000_000,
        batch_size: int = 10_000,
        threads: int = 0,
    ) -> None:
        self.uri = str(path)
        self.copy_batch = copy_batch  # rows per COPY (large COPYs are faster per row)
        self.batch_size = batch_size  # rows per UNWIND ... SET update
        Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        self._threads = threads
        self._bulk_depth = 0  # nested bulk() blocks; the outermost checkpoints
        self._open()
        self._column_order: dict[str, list[str]] = {}
        self._add_missing_columns()

    # -- schema ---------------------------------------------------------------------
    def _add_missing_columns(self) -> None:
        """Migrate a store made by an older version: create the schema's new tables and
        add its new properties to existing tables (as nulls). A store with no table at all
        is left to :meth:`init_schema`."""
        tables = {r["name"] for r in self._run("CALL show_tables() RETURN name", None)}
        added = False
        declared = {n.label for n in self.schema.nodes} | {r.type for r in self.schema.rels}
        if tables and declared - tables:  # a store made before a table was added (Image, ...)
            self.init_schema()  # CREATE ... IF NOT EXISTS: adds only the missing tables
            added = True
        for name, props in [(n.label, n.props) for n in self.schema.nodes] + [
            (r.type, r.props) for r in self.schema.rels
        ]:
            if name not in tables:
                continue
            have = {r["name"] for r in self._run(f"CALL table_info('{name}') RETURN name", None)}
            for p in props:
                if p.name not in have:
                    self._conn.execute(f"ALTER TABLE {name} ADD {p.name} {p.type}")
                    added = True
        if added:  # a fresh connection avoids cached plans from before the DDL
            self._reconnect()
        self._column_order.clear()

    def _open(self) -> None:
        try:
            # threads: LadybugDB's worker threads (0: one per core); 1 makes its work order
            # repeatable, which a test of an engine fault needs
            self._db = lb.Database(self.uri, max_num_threads=self._threads)
        except RuntimeError as exc:  # e.g. locked by another process, or not a database
            raise StoreError(f"cannot open embedded store at {self.uri}: {exc}") from exc
        self._conn = lb.Connection(self._db)

    def release_memory(self) -> None:
        """Close and reopen the database: its buffer pool keeps every page read resident
        (reading 1M ads left ~1.5 GB of the authors stage's 4.46 GB after the read); a
        reopened database starts with an empty pool and reads pages again as needed."""
        self.close()
        self._open()

    def _reconnect(self) -> None:
        """Replace the connection, closing the old one first: a connection left open when
        the database closes is destroyed later by the garbage collector, and that was seen
        to lose a later write to the same path in the same process."""
        old, self._conn = self._conn, lb.Connection(self._db)
        old.close()

    def _columns(self, table: str, declared: list[str]) -> list[str]:
        """The table's property columns in stored order (a migrated table has its added
        columns last, which COPY, matching by position, must follow)."""
        if table not in self._column_order:
            rows = self._run(f"CALL table_info('{table}') RETURN name", None)
            stored = [r["name"] for r in rows]
            self._column_order[table] = stored if set(stored) == set(declared) else declared
        return self._column_order[table]

    def init_schema(self) -> None:
        for n in self.schema.nodes:
            cols = ", ".join(f"{p.name} {p.type}" for p in n.props)
            self._conn.execute(
                f"CREATE NODE TABLE IF NOT EXISTS {n.label}({cols}, PRIMARY KEY({n.key}))"
            )
        for r in self.schema.rels:
            cols = "".join(f", {p.name} {p.type}" for p in r.props)
            self._conn.execute(
                f"CREATE REL TABLE IF NOT EXISTS {r.type}(FROM {r.src} TO {r.dst}{cols})"
            )
        # LadybugDB indexes the primary key only; secondary indexes in the schema are
        # Neo4j-side. A fresh connection avoids cached plans from before the DDL.
        self._reconnect()
        self._column_order.clear()

    # -- reads ----------------------------------------------------------------------
    def query(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> list[dict[str, Any]]:
        with self._transaction(write):
            return self._run(cypher, params)

    def query_df(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> pd.DataFrame:
        """As ``query``, as a DataFrame: read through Arrow when every column is a plain
        scalar (strings, integers, floats, booleans), the same frame as the row by row
        way at a fifth of the cost (reading 2.3M chain rows for the wallets took ~5 s row by
        row); other results go row by row."""
        with self._transaction(write):
            last = self._execute(cypher, params)
            types = last.get_column_data_types()
            if last.get_num_tuples() and all(t in _ARROW_TYPES for t in types):
                return last.get_as_arrow(chunk_size=-1).to_pandas()
            return pd.DataFrame(self._dicts(last, types))

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[None]:
        """A read-only transaction around a read (none around a write)."""
        if write:
            yield
            return
        conn = self._conn
        conn.execute("BEGIN TRANSACTION READ ONLY")
        try:
            yield
        finally:
            try:
                conn.execute("ROLLBACK")
            except RuntimeError:
                pass  # a failed statement already ended the transaction; keep its error

    def _execute(self, cypher: str, params: Mapping[str, Any] | None) -> Any:
        """The result of the statement (the last one's, for several)."""
        try:
            res = self._conn.execute(cypher, dict(params or {}))
        except RuntimeError as exc:
            raise StoreError(str(exc)) from exc
        return res[-1] if isinstance(res, list) else res

    @staticmethod
    def _dicts(last: Any, types: list[str]) -> list[dict[str, Any]]:
        """The rows of a result as dicts, Decimal columns as int and float."""
        cols = last.get_column_names()
        conv = _number_columns(types)
        out = []
        while last.has_next():
            row = last.get_next()
            for i, to in conv.items():
                if row[i] is not None:
                    row[i] = to(row[i])
            out.append(dict(zip(cols, row, strict=True)))
        return out

    def _run(self, cypher: str, params: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        last = self._execute(cypher, params)
        return self._dicts(last, last.get_column_data_types())

    @staticmethod
    def remove(path: str | Path) -> None:
        """Delete the store at ``path``: the database and its write-ahead log (``.wal``)."""
        for p in (Path(path), Path(f"{path}.wal")):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

    # -- writes ---------------------------------------------------------------------
    def _existing_nodes(self, node: NodeType, keys: list[str], cols: list[str]) -> pd.DataFrame:
        ret = ", ".join(f"n.{c} AS {c}" for c in cols)
        parts = []
        for i in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[i : i + LOOKUP_CHUNK]
            q = f"UNWIND $keys AS k MATCH (n:{node.label} {{{node.key}: k}}) RETURN {ret}"
            parts.append(pd.DataFrame(self._run(q, {"keys": chunk}), columns=cols))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)

    def _is_empty(self, node: NodeType) -> bool:
        rows = self._run(f"MATCH (n:{node.label}) RETURN n.{node.key} AS k LIMIT 1", None)
        return not rows

    def upsert_nodes(self, label: str, rows: Rows) -> int:
        node = self.schema.node(label)
        df = node_frame(node, rows)
        if df.empty:
            return 0
        cols = list(df.columns)
        if self._is_empty(node):  # a first load: nothing to look up
            existing = pd.DataFrame(columns=cols)
        else:
            existing = self._existing_nodes(node, df[node.key].tolist(), cols)
        is_old = df[node.key].isin(set(existing[node.key]))
        new = df[~is_old]
        if len(new):
            # columns not given: null; in the table's stored order
            full = new.reindex(columns=self._columns(label, node.prop_names))
            table = pa.Table.from_pandas(_typed(full, node.props), preserve_index=False)
            self._copy(label, table)
        changed = _changed_rows(df[is_old], existing, [node.key], cols)
        if len(changed):
            sets = ", ".join(_set(changed, "n", c) for c in cols if c != node.key)
            if sets:
                q = f"UNWIND $rows AS r MATCH (n:{label} {{{node.key}: r.{node.key}}}) SET {sets}"
                self._batched(q, records(changed))
        return len(df)

    def _existing_edges(self, rel: RelType, df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        src, dst = self.schema.node(rel.src), self.schema.node(rel.dst)
        ret = "".join(f", e.{c} AS {c}" for c in cols)
        srcs = sorted(set(df["src"]))
        parts = []
        for i in range(0, len(srcs), LOOKUP_CHUNK):
            q = keyed_path(
                f"(a:{rel.src} {{{src.key}: k}})",
                f"(a)-[e:{rel.type}]->(b:{rel.dst})",
                f"RETURN a.{src.key} AS src, b.{dst.key} AS dst{ret}",
                bound="e",
                keys="$keys",
            )
            parts.append(
                pd.DataFrame(
                    self._run(q, {"keys": srcs[i : i + LOOKUP_CHUNK]}),
                    columns=["src", "dst", *cols],
                )
            )
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def _rel_is_empty(self, rel: RelType) -> bool:
        q = f"MATCH (:{rel.src})-[e:{rel.type}]->(:{rel.dst}) RETURN 1 AS one LIMIT 1"
        return not self._run(q, None)

    def _existing_keys(self, node: NodeType, keys: list[Any]) -> set[Any]:
        return set(self._existing_nodes(node, keys, [node.key])[node.key])

    def upsert_edges(self, rel_type: str, rows: Rows) -> int:
        rel = self.schema.rel(rel_type)
        df = edge_frame(rel, rows)
        if df.empty:
            return 0
        props = [c for c in df.columns if c not in ("src", "dst")]
        first = self._rel_is_empty(rel)
        if first:  # a first load: nothing to look up; COPY itself rejects a missing end
            existing = pd.DataFrame(columns=["src", "dst", *props])
        else:
            self._check_ends(rel, df)
            existing = self._existing_edges(rel, df, props)
        if existing.empty:
            is_old = pd.Series(False, index=df.index)
        else:
            pairs = set(zip(existing["src"], existing["dst"], strict=True))
            is_old = pd.Series(
                [(s, d) in pairs for s, d in zip(df["src"], df["dst"], strict=True)],
                index=df.index,
            )
        new = df[~is_old]
        if len(new):
            try:
                self._copy_edges(rel, new)
            except StoreError:
                if first:
                    self._check_ends(rel, df)  # names the missing keys, if that was it
                raise
        changed = _changed_rows(df[is_old], existing, ["src", "dst"], props)
        if len(changed) and props:
            full = self._existing_edges(rel, changed, rel.prop_names)
            full = full.drop(columns=props).merge(changed, on=["src", "dst"], how="inner")
            self._rewrite_edges(rel, full)
        return len(df)

    # LadybugDB 0.22: ``SET`` on a relationship property, then a checkpoint (an automatic
    # one comes when the WAL passes its threshold, so when depends on the data) can leave
    # the table's backward index with edges moved onto the first node of the destination
    # table, with null properties: seen as two PAID_FOR links of an ad that had none, read
    # by owner detection as wallet evidence. This store therefore never SETs an edge
    # property; it deletes the edges and COPYs them again with their new values
    # (``tests/test_daily.py::test_run_stamps_leave_the_embedded_edges_whole_after_a_checkpoint``
    # replays the case).
    def _rewrite_edges(self, rel: RelType, rows: pd.DataFrame) -> None:
        """Replace the edges of ``rows`` (src, dst and every property) by delete + COPY."""
        src, dst = self.schema.node(rel.src), self.schema.node(rel.dst)
        self._batched(
            keyed_path(  # each k a row: the edge from k.src to k.dst
                f"(a:{rel.src} {{{src.key}: k.src}})",
                f"(a)-[e:{rel.type}]->(b:{rel.dst}) WHERE b.{dst.key} = k.dst",
                "DELETE e",
                bound="e",
                keys="$rows",
            ),
            records(rows[["src", "dst"]]),
        )
        self._copy_edges(rel, rows)

    def _copy_edges(self, rel: RelType, rows: pd.DataFrame) -> None:
        full = rows.reindex(columns=["src", "dst", *self._columns(rel.type, rel.prop_names)])
        table = pa.Table.from_pandas(_typed(full, rel.props, ends=True), preserve_index=False)
        self._copy(rel.type, table)

    def _stamp_edges(self, rel: RelType, run_id: str) -> int:
        src, dst = self.schema.node(rel.src), self.schema.node(rel.dst)
        match = f"MATCH (a:{rel.src})-[e:{rel.type}]->(b:{rel.dst}) WHERE e.run IS NULL "
        cols = "".join(f", e.{p} AS {p}" for p in rel.prop_names)
        # read through Arrow: at 1M ads the row by row read of the edges a full run made
        # took 16.5 s of the run, Arrow 3.6 s (the same rows)
        rows = self.query_df(
            match + f"RETURN a.{src.key} AS src, b.{dst.key} AS dst{cols}", write=True
        ).reindex(columns=["src", "dst", *rel.prop_names])
        if rows.empty:
            return 0
        rows["run"] = run_id
        self._run(match + "DELETE e", None)
        self._copy_edges(rel, rows)
        return len(rows)

    def delete_edges(self, rel_type: str) -> None:
        rel = self.schema.rel(rel_type)
        self._run(f"MATCH (:{rel.src})-[e:{rel.type}]->(:{rel.dst}) DELETE e", None)

    def delete_nodes(self, label: str) -> None:
        self.schema.node(label)
        self._run(f"MATCH (n:{label}) DETACH DELETE n", None)

    def _copy(self, table_name: str, table: pa.Table) -> None:
        for i in range(0, table.num_rows, self.copy_batch):
            part = table.slice(i, self.copy_batch)  # noqa: F841 - referenced by COPY below
            try:
                self._conn.execute(f"COPY {table_name} FROM part")
            except RuntimeError as exc:
                raise StoreError(f"COPY into {table_name} failed: {exc}") from exc

    def _batched(self, cypher: str, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), self.batch_size):
            self._run(cypher, {"rows": rows[i : i + self.batch_size]})

    @contextmanager
    def bulk(self) -> Iterator[EmbeddedStore]:
        """No checkpoint after each COPY (LadybugDB's default writes the whole database
        back after every statement); one at the end. The WAL keeps every write durable
        in between. Measured on a 100k-transaction chain load: about half the COPY time.
        Nested: the outermost one checkpoints."""
        self._bulk_depth += 1
        if self._bulk_depth == 1:
            self._conn.execute("CALL auto_checkpoint=false")
        try:
            yield self
        finally:
            self._bulk_depth -= 1
            if self._bulk_depth == 0:
                self._conn.execute("CALL auto_checkpoint=true")
                self._conn.execute("CHECKPOINT")

    def close(self) -> None:
        conn, db = getattr(self, "_conn", None), getattr(self, "_db", None)
        if conn is not None:
            conn.close()
            self._conn = None  # type: ignore[assignment]
        if db is not None:
            db.close()
            self._db = None  # type: ignore[assignment]


def _set(rows: pd.DataFrame, var: str, col: str) -> str:
    """A SET item; an all-null column is set to a NULL literal (LadybugDB cannot type it)."""
    return f"{var}.{col} = NULL" if rows[col].isna().all() else f"{var}.{col} = r.{col}"


def _typed(df: pd.DataFrame, props: tuple, ends: bool = False) -> pd.DataFrame:
    """Give every declared column its Arrow-friendly nullable dtype (all-null included)."""
    out = df.copy()
    kinds = {"INT64": "Int64", "DOUBLE": "Float64", "BOOL": "boolean", "STRING": "string"}
    for p in props:
        out[p.name] = out[p.name].astype(kinds[p.type])
    if ends:
        out["src"] = out["src"].astype("string")
        out["dst"] = out["dst"].astype("string")
    return out


def _changed_rows(
    given: pd.DataFrame, existing: pd.DataFrame, keys: list[str], cols: list[str]
) -> pd.DataFrame:
    """Rows of ``given`` whose non-key values differ from the stored ones (vectorised)."""
    values = [c for c in cols if c not in keys]
    if given.empty or not values:
        return given.iloc[0:0]
    old = existing.drop_duplicates(subset=keys).astype({k: "string" for k in keys})
    new = given.astype({k: "string" for k in keys})
    both = new.merge(old, on=keys, how="left", suffixes=("", "__old"))
    differs = pd.Series(False, index=both.index)
    for c in values:
        a, b = both[c], both[f"{c}__old"]
        a_na, b_na = a.isna(), b.isna()
        try:
            eq = (a.astype(object) == b.astype(object)).fillna(False).astype(bool)
        except (TypeError, ValueError):
            eq = pd.Series([x == y for x, y in zip(a, b, strict=True)], index=both.index)
        differs |= ~((a_na & b_na) | (~a_na & ~b_na & eq))
    return given[differs.to_numpy()]
