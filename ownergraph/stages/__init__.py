"""Stages: read from the store, call the algorithms (``linking``, ``owners``), write back.

The CLI and ``ownergraph.pipeline`` both call these functions.
"""
