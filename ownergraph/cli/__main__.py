"""``python -m ownergraph.cli``."""

from ownergraph.cli import app

app()
