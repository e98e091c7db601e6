"""distinc: keep training a model as its Parquet data grows, paying only for the new partitions."""

from distinc.api import IncrementalModel, Status, init, open
from distinc.engine.drift import DriftCheck
from distinc.engine.progress import Progress
from distinc.engine.update import UpdateResult
from distinc.exceptions import (
    ClusterError,
    ConcurrentUpdateError,
    ConfigurationError,
    CorruptPartitionError,
    DataError,
    DistincError,
    IntegrityError,
    InvalidValueError,
    LedgerFormatError,
    PartitionChangedError,
    PartitionMissingError,
    SchemaError,
    StorageAccessError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    TooFewClassesError,
    TrainingError,
    UnreadablePartitionError,
    UnsafeBackendError,
    UnseenLabelError,
    VersionNotFoundError,
)
from distinc.models.ensemble import DeltaEnsembleClassifier, DeltaEnsembleRegressor
from distinc.report.page import ReportFiles
from distinc.spec import ModelSpec, TrainingOptions
from distinc.store.check import check_store
from distinc.store.records import Comparison, Evaluation

__all__ = [
    "ClusterError",
    "Comparison",
    "ConcurrentUpdateError",
    "ConfigurationError",
    "CorruptPartitionError",
    "DataError",
    "DeltaEnsembleClassifier",
    "DeltaEnsembleRegressor",
    "DistincError",
    "DriftCheck",
    "Evaluation",
    "IncrementalModel",
    "IntegrityError",
    "InvalidValueError",
    "LedgerFormatError",
    "ModelSpec",
    "PartitionChangedError",
    "PartitionMissingError",
    "Progress",
    "ReportFiles",
    "SchemaError",
    "Status",
    "StorageAccessError",
    "StoreError",
    "StoreExistsError",
    "StoreNotFoundError",
    "TooFewClassesError",
    "TrainingError",
    "TrainingOptions",
    "UnreadablePartitionError",
    "UnsafeBackendError",
    "UnseenLabelError",
    "UpdateResult",
    "VersionNotFoundError",
    "check_store",
    "init",
    "open",
]
