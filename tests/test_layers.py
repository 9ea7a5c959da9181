"""Imports run one way through the layers (top-level and lazy imports alike, from the AST).

    store  <-  stages  ->  linking, owners (pure, on DataFrames)
    loaders -> store;  pipeline, cli -> stages;  nothing imports the CLI.

The rules, each over every ``import`` statement anywhere in a module (inside functions
too, and under ``TYPE_CHECKING``):

* ``store`` imports nothing of ownergraph but itself, ``defaults``, ``settings``, ``errors``;
* ``linking`` and ``owners`` never import ``store`` or ``stages``;
* ``loaders`` never import ``stages``, ``owners`` or the report;
* nothing outside the CLI imports the CLI.

``KNOWN`` lists the back edges still left, each with the reason; the test fails when a new
one appears AND when a listed one is gone (so the list only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ownergraph"

# (importer, imported) -> why it is still there
KNOWN: dict[tuple[str, str], str] = {}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, importer: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, root: Path, known: set[str]) -> set[str]:
    """The modules of the package that ``path`` imports, anywhere in the file.

    ``from pkg import name`` counts as an import of ``pkg.name`` when that is a module
    of the package, else of ``pkg``."""
    importer = module_name(path, root)
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(node, importer, is_pkg)
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.add(sub if sub in known else mod)
    top = root.name
    return {m for m in out if m == top or m.startswith(top + ".")}


def import_graph(root: Path) -> dict[str, set[str]]:
    files = sorted(root.rglob("*.py"))
    known = {module_name(f, root) for f in files}
    return {module_name(f, root): imports_of(f, root, known) for f in files}


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _is_cli(module: str, top: str) -> bool:
    return _in(module, f"{top}.cli") or module.startswith(f"{top}.cli_")


def violations(graph: dict[str, set[str]], top: str = "ownergraph") -> set[tuple[str, str]]:
    """Every (importer, imported) pair that runs against the layers."""
    p = lambda name: f"{top}.{name}"  # noqa: E731
    bad: set[tuple[str, str]] = set()
    for src, targets in graph.items():
        for dst in targets:
            if _in(dst, src) or _in(src, dst):  # a package and its own modules
                continue
            if _in(src, p("store")) and not _in(
                dst, p("store"), p("defaults"), p("settings"), p("errors")
            ):
                bad.add((src, dst))
            elif _in(src, p("linking"), p("owners")) and _in(dst, p("store"), p("stages")):
                bad.add((src, dst))
            elif _in(src, p("loaders")) and _in(
                dst, p("stages"), p("owners"), p("report"), p("report_data")
            ):
                bad.add((src, dst))
            elif _is_cli(dst, top) and not _is_cli(src, top):
                bad.add((src, dst))
    return bad


def test_imports_run_one_way() -> None:
    found = violations(import_graph(ROOT))
    new = sorted(found - set(KNOWN))
    gone = sorted(set(KNOWN) - found)
    assert not new, f"imports running back up the layers: {new}"
    assert not gone, f"fixed back edges still listed in KNOWN (remove them): {gone}"


def test_every_layer_package_exists() -> None:
    for pkg in ("store", "linking", "owners", "stages", "loaders", "queries"):
        assert (ROOT / pkg / "__init__.py").is_file(), pkg


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "ownergraph"
    for rel, text in {"__init__.py": "", **files}.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        for parent in f.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        f.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "edge"),
    [
        # a store importing a stage, lazily inside a function
        (
            {"store/base.py": "def f():\n    from ownergraph.stages import owners\n",
             "stages/owners.py": ""},
            ("ownergraph.store.base", "ownergraph.stages.owners"),
        ),
        # owner analytics reaching the store through a relative import
        (
            {"owners/cores.py": "from ..store.base import Store\n", "store/base.py": ""},
            ("ownergraph.owners.cores", "ownergraph.store.base"),
        ),
        # linking importing a stage package with a plain import
        (
            {"linking/wallets.py": "import ownergraph.stages\n", "stages/x.py": ""},
            ("ownergraph.linking.wallets", "ownergraph.stages"),
        ),
        # a loader importing the report
        (
            {"loaders/ads.py": "from ownergraph.report import Redactor\n", "report.py": ""},
            ("ownergraph.loaders.ads", "ownergraph.report"),
        ),
        # a library module importing the CLI, under TYPE_CHECKING
        (
            {"pipeline.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
             "    from ownergraph.cli import app\n", "cli/__init__.py": ""},
            ("ownergraph.pipeline", "ownergraph.cli"),
        ),
    ],
)  # fmt: skip
def test_a_back_edge_is_caught(tmp_path: Path, files: dict[str, str], edge: tuple) -> None:
    assert violations(import_graph(_tree(tmp_path, files))) == {edge}


def test_the_right_direction_passes(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "store/base.py": "from ownergraph.store.schema import SCHEMA\n"
            "import ownergraph.defaults\n",
            "store/schema.py": "SCHEMA = 1\n",
            "defaults.py": "",
            "owners/cores.py": "from ownergraph.linking import prices\n",
            "linking/prices.py": "",
            "stages/owners.py": "from ownergraph.owners import cores\n"
            "from ownergraph.store.base import x\n",
            "loaders/ads.py": "from ownergraph.store.base import Store\n",
            "pipeline.py": "from ownergraph.stages import owners\n",
            "cli/__init__.py": "from ownergraph import pipeline\n",
            "cli/owners.py": "from ownergraph.cli import app\n",
        },
    )
    assert violations(import_graph(root)) == set()
