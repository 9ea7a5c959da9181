"""ownergraph: group online sex ads by their true owner in a property graph."""

__version__ = "0.1.0"
