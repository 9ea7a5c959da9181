"""Settings are declared once: only ownergraph/settings.py reads the environment, and the
README's settings table is that declaration."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ownergraph import settings

ROOT = Path(__file__).resolve().parents[1]


def environ_reads(path: Path) -> list[int]:
    """Lines of ``path`` that touch ``os.environ`` or call ``os.getenv``/``os.putenv``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "putenv", "environb")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            out.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if {a.name for a in node.names} & {"environ", "getenv", "environb"}:
                out.append(node.lineno)
    return out


def test_only_the_settings_module_reads_the_environment() -> None:
    found = {
        str(p.relative_to(ROOT)): lines
        for p in sorted((ROOT / "ownergraph").rglob("*.py"))
        if p.name != "settings.py" or p.parent.name != "ownergraph"
        if (lines := environ_reads(p))
    }
    assert found == {}


def test_the_environ_check_catches_a_read(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import os\ndef f():\n    return os.environ.get('X')\n")
    assert environ_reads(f) == [3]
    f.write_text("from os import getenv\n")
    assert environ_reads(f) == [1]


def _readme_table() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Settings (environment variables)", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z0-9_]+)` \| (.*?) \| (.*) \|$", section, flags=re.M)


def test_the_readme_lists_every_setting_as_declared() -> None:
    expected = [
        (
            s.name,
            f"`{s.default}`" if s.default else "—",
            s.help + (" (secret)" if s.secret else ""),
        )
        for s in settings.SETTINGS
    ]
    assert _readme_table() == expected


def test_get_reads_the_environment_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OWNERGRAPH_LOG_LEVEL", raising=False)
    assert settings.get("OWNERGRAPH_LOG_LEVEL") == "WARNING"
    monkeypatch.setenv("OWNERGRAPH_LOG_LEVEL", "")
    assert settings.get("OWNERGRAPH_LOG_LEVEL") == "WARNING"  # blank = not set
    assert not settings.is_set("OWNERGRAPH_LOG_LEVEL")
    monkeypatch.setenv("OWNERGRAPH_LOG_LEVEL", "DEBUG")
    assert settings.get("OWNERGRAPH_LOG_LEVEL") == "DEBUG"
    with pytest.raises(KeyError):
        settings.get("OWNERGRAPH_NOT_A_SETTING")


def test_secret_values_are_the_set_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings.SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-value")
    monkeypatch.setenv("NEO4J_USER", "not-a-secret")
    assert settings.secret_values() == ("s3cret-value",)
