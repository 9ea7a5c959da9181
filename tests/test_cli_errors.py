"""One error boundary: a library error reaches a CLI user as one line, never a traceback."""

from __future__ import annotations

import importlib

import pytest
import typer
from typer.testing import CliRunner

from ownergraph.cli import _Boundary, app
from ownergraph.errors import OwnergraphError

LIBRARY_ERRORS = [
    ("ownergraph.store.base", "StoreError"),
    ("ownergraph.loaders.quarantine", "InputError"),
    ("ownergraph.loaders.bitcoin_batch", "BitcoinFormatError"),
    ("ownergraph.loaders.tags", "TagError"),
    ("ownergraph.loaders.rates", "RateError"),
    ("ownergraph.loaders.bitcoin_node", "RpcError"),
    ("ownergraph.queries.registry", "QueryError"),
    ("ownergraph.owners.evidence_graph", "EvidenceError"),
    ("ownergraph.linking.payments", "PaymentInputError"),
    ("ownergraph.linking.stylometry.model", "ModelError"),
    ("ownergraph.linking.stylometry.embeddings", "EmbeddingUnavailable"),
    ("ownergraph.stages.owners", "OwnerNotFound"),
    ("ownergraph.export", "ExportError"),
    ("ownergraph.evaluate", "EvaluationError"),
    ("ownergraph.project", "ProjectError"),
    ("ownergraph.daily.watches", "WatchError"),
    ("ownergraph.daily.incremental", "IncrementalError"),
]


@pytest.mark.parametrize(("module", "name"), LIBRARY_ERRORS)
def test_every_library_error_has_the_common_base(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, OwnergraphError)


def _toy() -> typer.Typer:
    toy = typer.Typer(cls=_Boundary)

    class Bad(OwnergraphError):
        exit_code = 3

    @toy.command()
    def user(record: str = "ad 7") -> None:
        raise Bad(f"{record}: no posting time")

    @toy.command()
    def bug() -> None:
        raise ZeroDivisionError("a bug")

    return toy


def test_a_library_error_is_one_line_with_its_exit_code() -> None:
    res = CliRunner().invoke(_toy(), ["user"])
    assert res.exit_code == 3
    assert res.output.strip() == "error: ad 7: no posting time"
    assert "Traceback" not in res.output


def test_a_bug_keeps_its_traceback() -> None:
    res = CliRunner().invoke(_toy(), ["bug"])
    assert isinstance(res.exception, ZeroDivisionError)


def test_the_real_cli_reports_a_library_error(tmp_path) -> None:
    store = tmp_path / "g.lbug"
    assert CliRunner().invoke(app, ["init", "--store", str(store)]).exit_code == 0
    res = CliRunner().invoke(app, ["query", "no_such_query", "--store", str(store)])
    assert res.exit_code == 2, res.output
    assert "error: unknown query 'no_such_query'" in res.output
    assert "Traceback" not in res.output
