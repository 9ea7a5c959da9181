"""The README's commands, as written: every ``ownergraph ...`` line of its ``bash`` blocks
names a real command and real options; the sample-file block and the stage-by-stage block
run in bash (the demo's query block runs in tests/test_demo.py, on the demo's store)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from ownergraph.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```bash\n(.*?)^```", README, re.S | re.M)
#: the bash blocks of docs/*.md (the method and results moved there): commands checked too
DOC_BLOCKS = [
    b
    for doc in sorted((ROOT / "docs").glob("*.md"))
    for b in re.findall(r"^```bash\n(.*?)^```", doc.read_text(encoding="utf-8"), re.S | re.M)
]
#: In the stage block: the top owner group, known once `owners detect` has run.
TOP_OWNER = (
    '"$(ownergraph query top_owners -p limit=1 --json "${S[@]}"'
    ' | python -c \'import json,sys; print(json.load(sys.stdin)[0]["owner"])\')"'
)


def readme_block(marker: str) -> str:
    """The one ``bash`` block of the README that contains ``marker``."""
    found = [b for b in BLOCKS if marker in b]
    assert len(found) == 1, f"{len(found)} README bash blocks contain {marker!r}"
    return found[0]


def run_block(block: str, cwd: Path) -> str:
    """Run a README block in bash (errors stop it) with ``ownergraph`` on the PATH; stdout."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("OWNERGRAPH_STORE", None)
    res = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert res.returncode == 0, f"{block}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


COMPOSE = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
#: the docker-compose file's usage comment, as a block of commands
COMPOSE_BLOCK = "\n".join(
    line.removeprefix("#").strip() for line in COMPOSE.splitlines() if line.startswith("#")
)


def _command_lines() -> list[list[str]]:
    lines = []
    for block in [*BLOCKS, *DOC_BLOCKS, COMPOSE_BLOCK]:
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("ownergraph "):
                words = shlex.split(line, comments=True)
                for stop in ("&&", "|", ";"):
                    words = words[: words.index(stop)] if stop in words else words
                lines.append(words)
    return lines


def test_every_readme_command_and_option_exists():
    lines = _command_lines()
    assert len(lines) >= 15
    assert ["ownergraph", "init", "--store", "neo4j://localhost:7687"] in lines  # compose
    root = typer.main.get_command(app)
    for words in lines:
        cmd, rest = root, words[1:]
        while rest and hasattr(cmd, "commands") and rest[0] in cmd.commands:
            cmd, rest = cmd.commands[rest[0]], rest[1:]
        assert not hasattr(cmd, "commands"), f"not a command: {' '.join(words)}"
        known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        for w in rest:
            if w.startswith("-") and w != "-":
                assert w.split("=")[0] in known, f"{w} is not an option of: {' '.join(words)}"


def test_the_sample_block_runs_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    out = run_block(readme_block("examples/sample_ads.jsonl"), tmp_path)
    # Kandy's phone, written four ways, in NV, AZ and CA: 3 states, 5 ads
    assert re.search(r"^\W*\+17025550147\W+3\W+5\W*$", out, re.M), out
    sharing = json.loads(out[out.index("\n[") + 1 :])
    assert {(r["ad"], r["via"]) for r in sharing} == {
        ("s1", "phone"),
        ("s2", "phone"),
        ("s3", "phone"),
        ("s12", "phone"),
        ("s5", "email"),
    }


@pytest.mark.slow
def test_the_stage_by_stage_block_runs_as_written(tmp_path: Path) -> None:
    block = readme_block("S=(--store")
    assert block.count("OWNER_ID") == 1
    run_block(block.replace("OWNER_ID", TOP_OWNER), tmp_path)
    world = tmp_path / "world"
    for made in ("data/graph.lbug", "model.joblib", "roc.png", "case.html"):
        assert (world / made).exists(), made
    html = (world / "case.html").read_text(encoding="utf-8")
    assert not re.search(r"\+1\d{10}", html)  # --redact: no phone number in the report


def _stage_rows() -> list[tuple[str, str, str, str]]:
    section = README.split("## The pipeline, stage by stage", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| (\w[\w ]*) \| `([^`]+)` \| `(\w+)` \| `([\w.]+)` \|$", section, re.M)


def test_the_stages_table_names_real_commands_functions_and_modules() -> None:
    import importlib

    rows = _stage_rows()
    names = [r[0] for r in rows]
    assert names[:8] == [
        "ads", "bitcoin", "wallets", "payments", "authors", "images", "owners", "evaluate"
    ]  # fmt: skip
    root = typer.main.get_command(app)
    for _, command, function, module in rows:
        cmd = root
        for word in command.split()[1:]:
            cmd = cmd.commands[word]  # a KeyError names a command that does not exist
        assert not hasattr(cmd, "commands"), command
        assert callable(getattr(importlib.import_module(module), function)), (module, function)
