"""XGBoost continuation: every update continues the previous booster on the new partitions.

The modules follow one update from left to right: ``params`` (native parameters and the rounds
of each training session), ``rows`` (partitions read into features, labels and weights),
``reservoir`` (the replay sample kept in the store), ``local`` and ``dask_backend`` (where the
sessions run), ``model`` (the stored booster and its UBJSON codec) and ``trainer`` (the
``Trainer`` tying them together).
"""
