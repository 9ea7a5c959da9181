"""Owner analytics on DataFrames: evidence graphs, cores, Leiden, calibration, scoring.

Pure algorithms: they take and return frames and never open a store (the stage that
reads and writes the store is ``ownergraph.stages.owners``).
"""
