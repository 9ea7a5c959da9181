"""A project file: your own inputs, the store and the stage options, for ``ownergraph run``.

A small TOML file names everything one pipeline run reads; relative paths are relative to
the file's folder::

    [store]
    uri = "graph.lbug"                 # or neo4j://host:7687

    [[ads]]                            # one table per ad file
    path = "dump.csv"
    map = { id = "Post ID", title = "Ad Title", body = "Description", city = "Location" }
    set = { }                          # constants, e.g. { state = "CA" }
    country = "CA"                     # places cities given without region
    timezone = "America/Toronto"
    # preset, format, date_format, phone_region as in `load ads`

    [bitcoin]                          # optional: chain data and payment inputs
    blocks = ["blocks.jsonl"]
    mempool = ["mempool_first_seen.csv"]
    processors = "processor_addresses.txt"
    rates = "rates.csv"
    prices = "prices.json"

    [images]                           # optional: ad pictures, hashed (never kept)
    folder = "pictures"                # <folder>/<ad id>/*.jpg or <folder>/<ad id>.jpg

    [run]
    stages = ["ads", "bitcoin", "wallets", "payments", "authors", "images", "owners"]
    seed = 0
    work_dir = "run"                   # quarantine files and the author model
    author_train_pairs = 25000         # as `authors train --max-train-pairs`
    author_target_precision = 0.8      # as `authors link --target-precision`
    truth = "truth"                    # optional: a synthetic world's truth folder
    user = "analyst@org"               # recorded on the run (audit); $OWNERGRAPH_USER wins

``Project.from_world`` describes a synthetic world folder the same way: the demo is
``run`` on a generated world.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ownergraph import defaults
from ownergraph.errors import OwnergraphError

STAGES = defaults.STAGES
# Training pairs the author stage samples at most (the demo's budget; None = all).
AUTHOR_TRAIN_PAIRS = 25_000
_AD_KEYS = {
    "path", "preset", "map", "set", "country", "timezone", "date_format", "format",
    "phone_region",
}  # fmt: skip
_BTC_KEYS = {"blocks", "mempool", "processors", "rates", "prices"}
_RUN_KEYS = {
    "stages", "seed", "work_dir", "author_train_pairs", "author_target_precision", "truth",
    "user",
}  # fmt: skip
_NEEDS = {
    "ads": ("ads",),
    "bitcoin": ("blocks",),
    "payments": ("rates", "prices"),
    "evaluate": ("truth",),
}


class ProjectError(OwnergraphError, ValueError):
    """A project file that cannot run: names the key and the reason."""

    exit_code = 2  # bad input, as a usage error


@dataclass(frozen=True)
class AdInput:
    path: Path
    preset: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    country: str | None = None
    timezone: str = "UTC"
    date_format: str | None = None
    fmt: str | None = None
    phone_region: str = "US"


@dataclass(frozen=True)
class Project:
    ads: tuple[AdInput, ...] = ()
    blocks: tuple[Path, ...] = ()
    mempool: tuple[Path, ...] = ()
    processors: Path | None = None
    rates: Path | None = None
    prices: Path | None = None
    store: str | None = None
    stages: tuple[str, ...] = STAGES
    seed: int = 0
    work_dir: Path = Path("run")
    author_train_pairs: int | None = AUTHOR_TRAIN_PAIRS
    # the precision among held-out candidate pairs author linking must reach
    author_target_precision: float = defaults.TARGET_PRECISION
    truth: Path | None = None
    images: Path | None = None  # a folder of ad pictures keyed by ad id (hashed, never kept)
    user: str | None = None  # who runs it (audit), unless $OWNERGRAPH_USER is set

    @classmethod
    def from_world(
        cls,
        world: str | Path,
        *,
        work_dir: str | Path | None = None,
        stages: tuple[str, ...] = STAGES,
        seed: int = 0,
    ) -> Project:
        """A synthetic world folder (``ownergraph synth``) as a project."""
        w = Path(world)
        truth = w / "truth"
        return replace(
            cls.from_days([w], work_dir=work_dir or w / "run", stages=stages, seed=seed),
            truth=truth if truth.is_dir() else None,
            images=w / "images" if (w / "images").is_dir() else None,
        )

    @classmethod
    def from_days(
        cls,
        days: list[Path],
        *,
        work_dir: str | Path,
        stages: tuple[str, ...] = STAGES,
        seed: int = 0,
    ) -> Project:
        """World-shaped folders (one per day, ``synth.days.split_world``) as one project:
        every day's ads, blocks and mempool log; processors, rates and prices of the first."""
        d0 = Path(days[0])
        return cls(
            ads=tuple(AdInput(Path(d) / "ads.jsonl") for d in days),
            blocks=tuple(Path(d) / "bitcoin" / "blocks.jsonl" for d in days),
            mempool=tuple(Path(d) / "bitcoin" / "mempool_first_seen.csv" for d in days),
            processors=d0 / "bitcoin" / "processor_addresses.txt",
            rates=d0 / "rates.csv",
            prices=d0 / "prices.json",
            stages=tuple(stages),
            seed=seed,
            work_dir=Path(work_dir),
        )

    def check(self) -> None:
        """Every stage has its inputs and every input file exists."""
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ProjectError(f"run.stages: unknown {unknown}; known: {', '.join(STAGES)}")
        have = {
            "ads": bool(self.ads),
            "blocks": bool(self.blocks),
            "rates": self.rates is not None,
            "prices": self.prices is not None,
            "truth": self.truth is not None,
        }
        for stage in self.stages:
            missing = [k for k in _NEEDS.get(stage, ()) if not have[k]]
            if missing:
                where = "[[ads]] path" if missing == ["ads"] else f"{', '.join(missing)}"
                raise ProjectError(f"stage {stage!r} needs {where} in the project file")
        files = [a.path for a in self.ads] + [*self.blocks, *self.mempool]
        files += [p for p in (self.processors, self.rates, self.prices) if p is not None]
        for f in files:
            if not f.exists():
                raise ProjectError(f"input file not found: {f}")


def input_files(project: Project, cache: Path | None = None) -> list[dict[str, Any]]:
    """Every input file of a project with its kind, size and SHA-256 (for the audit and
    for incremental runs, which skip files an earlier run loaded).

    ``cache``: a JSON file of earlier hashes by path, size and modification time (ns); a
    file whose size and mtime are unchanged is not read again (hashing a day's 1.7 GB of
    inputs took 4 s). Like ``make`` and ``rsync``, this trusts size and mtime: a file
    rewritten in place with both unchanged keeps its old hash."""
    import hashlib
    import json

    known: dict[str, Any] = {}
    if cache is not None and cache.exists():
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}  # a damaged cache is only a slower run
    items = [("ads", a.path) for a in project.ads]
    items += [("blocks", p) for p in project.blocks] + [("mempool", p) for p in project.mempool]
    out, seen = [], {}
    for kind, path in items:
        st = path.stat()
        key = str(Path(path).resolve())
        stamp = [st.st_size, st.st_mtime_ns]
        if known.get(key, {}).get("stamp") == stamp:
            digest = known[key]["sha256"]
        else:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            digest = h.hexdigest()
        seen[key] = {"stamp": stamp, "sha256": digest}
        out.append({"kind": kind, "path": str(path), "bytes": st.st_size, "sha256": digest})
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({**known, **seen}))
    return out


def only_files(project: Project, paths: set[str]) -> Project:
    """The project restricted to the given ad, block and mempool files."""
    from dataclasses import replace

    return replace(
        project,
        ads=tuple(a for a in project.ads if str(a.path) in paths),
        blocks=tuple(p for p in project.blocks if str(p) in paths),
        mempool=tuple(p for p in project.mempool if str(p) in paths),
    )


def _paths(base: Path, v: Any, key: str) -> tuple[Path, ...]:
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise ProjectError(f"{key}: expected a path or a list of paths")
    return tuple(base / x for x in items)


def _unknown(table: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ProjectError(f"{where}: unknown key(s) {', '.join(extra)}; known: "
                           f"{', '.join(sorted(allowed))}")  # fmt: skip


def load_project(path: str | Path) -> Project:
    """Read and check a project file; ``ProjectError`` names what is wrong."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such project file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: not valid TOML ({exc})") from None
    base = path.parent
    _unknown(doc, {"store", "ads", "bitcoin", "images", "run"}, str(path))
    ads = []
    for i, a in enumerate(doc.get("ads", []), start=1):
        if not isinstance(a, dict) or "path" not in a:
            raise ProjectError(f'[[ads]] #{i}: needs path = "FILE"')
        _unknown(a, _AD_KEYS, f"[[ads]] #{i}")
        ads.append(
            AdInput(
                path=base / a["path"],
                preset=a.get("preset"),
                columns={str(k): str(v) for k, v in (a.get("map") or {}).items()},
                constants=dict(a.get("set") or {}),
                country=a.get("country"),
                timezone=a.get("timezone", "UTC"),
                date_format=a.get("date_format"),
                fmt=a.get("format"),
                phone_region=a.get("phone_region", "US"),
            )
        )
    btc = doc.get("bitcoin", {})
    _unknown(btc, _BTC_KEYS, "[bitcoin]")
    run = doc.get("run", {})
    _unknown(run, _RUN_KEYS, "[run]")
    pictures = doc.get("images", {})
    _unknown(pictures, {"folder"}, "[images]")
    store = doc.get("store", {})
    _unknown(store, {"uri"}, "[store]")
    uri = store.get("uri")
    if uri and "://" not in uri:
        uri = str(base / uri)
    one = {k: (base / btc[k] if k in btc else None) for k in ("processors", "rates", "prices")}
    default_stages = [s for s in STAGES if s in ("ads", "authors", "owners")]
    if btc.get("blocks"):
        default_stages[1:1] = ["bitcoin", "wallets"]
        if one["rates"] and one["prices"]:
            default_stages.insert(3, "payments")
    if pictures.get("folder"):
        default_stages.insert(default_stages.index("owners"), "images")
    truth = base / run["truth"] if run.get("truth") else None
    if truth is not None:
        default_stages.append("evaluate")
    pairs = run.get("author_train_pairs", AUTHOR_TRAIN_PAIRS)
    target = run.get("author_target_precision", defaults.TARGET_PRECISION)
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target < 1:
        raise ProjectError(f"run.author_target_precision: {target!r} is not a number in (0, 1)")
    project = Project(
        ads=tuple(ads),
        blocks=_paths(base, btc.get("blocks", []), "bitcoin.blocks"),
        mempool=_paths(base, btc.get("mempool", []), "bitcoin.mempool"),
        processors=one["processors"],
        rates=one["rates"],
        prices=one["prices"],
        store=uri,
        stages=tuple(run.get("stages", default_stages)),
        seed=int(run.get("seed", 0)),
        work_dir=base / run.get("work_dir", "run"),
        author_train_pairs=None if pairs in (0, None) else int(pairs),
        author_target_precision=float(target),
        truth=truth,
        images=base / pictures["folder"] if pictures.get("folder") else None,
        user=run.get("user"),
    )
    project.check()
    return project
