"""The storage layer: the schema, the ``Store`` interface and its two engines.

Every engine difference lives here. This package imports nothing else of ownergraph
(but ``ownergraph.defaults``), so the layers above can rely on it alone.
"""
