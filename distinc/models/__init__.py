"""Estimators distinc adds to scikit-learn, usable with or without the engine.

Foundation level, like ``estimators.py``: these modules import scikit-learn and numpy only.

* ``ensemble``: ``DeltaEnsembleClassifier`` / ``DeltaEnsembleRegressor``, one member per delta.
* ``combine``: how members' outputs are weighted and combined (pure functions).
* ``encoding``: ``CategoryEncoder``, a fixed-width encoding of stable category codes.
* ``pipeline``: ``IncrementalPipeline``, a pipeline of ``partial_fit``-able steps.
* ``merge``: exact merges of sufficient statistics (naive Bayes, scalers).
* ``birch``: ``StorableBirch``, Birch in a form skops can store.
"""
