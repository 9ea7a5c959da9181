"""CoinJoin emulations with the true owner of every coin (EmuCoinJoin output folders).

A zip holds one or more runs: ``<run>/data/btc-node/block_N.json`` (Bitcoin Core
``getblock <hash> 2``) and one folder per wallet (``<run>/data/<wallet>/coins.json`` and
``keys.json``) whose addresses that wallet owns. Used to count wrong wallet merges.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd


@dataclass
class EmulationRun:
    name: str
    blocks: list[Path]  # getblock-2 JSON files, extracted
    owners: pd.Series  # address -> wallet (true owner)


def iter_emulation_runs(path: str | Path, workdir: str | Path) -> Iterator[EmulationRun]:
    """Each run of an emulation zip, its blocks extracted under ``workdir``."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        runs = sorted(
            {str(PurePosixPath(n).parents[2]) for n in names if "/data/btc-node/block_" in n}
        )
        for run in runs:
            block_names = [n for n in names if n.startswith(run + "/data/btc-node/block_")]
            block_names = [n for n in block_names if n.endswith(".json")]
            zf.extractall(workdir, block_names)
            owner: dict[str, str] = {}
            for n in names:
                p = PurePosixPath(n)
                if not n.startswith(run + "/data/") or p.name not in ("coins.json", "keys.json"):
                    continue
                wallet = p.parent.name
                for item in json.loads(zf.read(n)):
                    if isinstance(item, dict) and item.get("address"):
                        owner.setdefault(item["address"], wallet)
            yield EmulationRun(
                name=PurePosixPath(run).name,
                blocks=sorted(Path(workdir) / n for n in block_names),
                owners=pd.Series(owner, name="owner", dtype=object),
            )
