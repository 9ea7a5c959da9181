"""Stylometry: link ads by author when they share no identifier.

- ``masking``: remove phones, e-mails, URLs, handles from the text before any feature.
- ``features``: per-ad style views (character / word n-grams, symbols, function words,
  layout and casing statistics) and pair features.
- ``pairs``: labelled pairs from shared identifiers, split by identifier component,
  near-duplicate flags.
- ``model``: ``PairwiseAuthorModel`` (scikit-learn estimator, calibrated, saved with
  metadata), ``evaluate``: ROC AUC, TPR at fixed FPR, baseline comparison.
- ``candidates``: approximate candidate-pair search for large ad sets.
- ``clusters``: author clusters from scored pairs (the stage that writes them to a store
  is ``ownergraph.stages.authors``).
"""
