"""The one interface every training strategy implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from distinc.dataset.partition import DataSource
from distinc.dataset.schema import ColumnContract
from distinc.ledger.admit import Admission
from distinc.ledger.entry import ArtifactRef, TrainedPartition
from distinc.ledger.lineage import Lineage
from distinc.spec import ModelSpec


@dataclass(frozen=True)
class AdmittedGroup:
    """Consecutive admitted partitions that one task trains on, in training order.

    ``batches`` is a Dask future of ``{key: (X, y)}`` kept in worker memory by the scan, or
    ``None`` when the partitions are to be read again. ``fits`` holds the keys of each fit
    batch (``fit_batch_mb``), one ``partial_fit`` call each, or ``None`` for a call per partition.
    ``holder`` is the address of the worker that keeps ``batches``, when known.
    """

    index: int
    partitions: tuple[TrainedPartition, ...]
    batches: Any | None = None
    fits: tuple[tuple[str, ...], ...] | None = None
    holder: str | None = None

    @property
    def keys(self) -> list[str]:
        return [part.key for part in self.partitions]


class Delta(Protocol):
    """The new partitions of an update, as admission clears them.

    ``groups`` yields admitted groups in training order as soon as each is cleared, so a
    strategy can start while later partitions are still being checked; it raises the
    ``DataError`` naming every bad partition as soon as one is found. ``admission`` waits for
    every verdict. Nothing trained before an error is ever committed.
    """

    def classes(self) -> tuple[Any, ...] | None: ...

    def groups(self, start: int = 0) -> Iterator[AdmittedGroup]: ...

    def admission(self) -> Admission: ...


@dataclass(frozen=True)
class TrainingJob:
    """Everything a strategy needs to produce the next version's model.

    ``model`` is the parent version's model (``None`` for the first version). Strategies must
    never mutate it: Dask may run a task twice, and the parent must stay what was committed.
    ``progress``, when given, is called with the index of the first unfinished group each time
    groups finish (optional for a strategy; it feeds progress bars only).
    ``read_artifact`` reads a committed artifact (such as the parent's extras), verified against
    its ledger hash.
    """

    spec: ModelSpec
    source: DataSource
    contract: ColumnContract
    delta: Delta
    model: Any | None
    version: int
    run_id: str
    lineage: Lineage = field(default_factory=Lineage)
    progress: Callable[[int], None] | None = None
    read_artifact: Callable[[ArtifactRef], bytes] | None = None


@dataclass(frozen=True)
class ExtraArtifact:
    """A further file a version needs besides its model (for example a replay reservoir)."""

    role: str
    format: str
    data: bytes


@dataclass(frozen=True)
class TrainingResult:
    model: Any
    artifact_format: str = "skops"
    extras: tuple[ExtraArtifact, ...] = ()
    notes: dict[str, Any] = field(default_factory=dict)


class Trainer(ABC):
    """A training strategy: the parent model plus new partitions in, the next model out."""

    strategy: ClassVar[str]
    # Whether the strategy trains from batches the scan keeps in worker memory.
    uses_batches: ClassVar[bool] = False
    # Whether its fits form one chain, each waiting for the one before: scans then yield to them.
    chained: ClassVar[bool] = False
    # Whether the strategy can learn categorical (string or dictionary) features.
    supports_categorical: ClassVar[bool] = False

    def check_spec(self, spec: ModelSpec) -> None:
        """Refuse at ``init`` a spec this strategy cannot train; the default accepts any."""
        return None

    @abstractmethod
    def train(self, job: TrainingJob, client: Any) -> TrainingResult:
        """Train on the admitted partitions of ``job.delta``, in order, on the Dask ``client``."""
