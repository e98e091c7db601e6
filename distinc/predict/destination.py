"""Where predictions may go: a folder of their own, never over or inside data."""

from __future__ import annotations

from typing import Any

from distinc.dataset.locations import Location, output_folder
from distinc.dataset.partition import DataSource
from distinc.exceptions import ConfigurationError


def prepare_output(
    out: str, out_options: dict[str, Any], *, scoring: DataSource, training: DataSource
) -> None:
    """Refuse an output folder that overlaps the scoring data or lies in the training data,
    then create it; both before anything is scored."""
    target = Location.of(out, out_options)
    data = Location.of(scoring.url, scoring.storage_options)
    if target.within(data) or data.within(target):
        relation = "is" if target == data else "lies inside" if target.within(data) else "contains"
        raise ConfigurationError(
            f"The output folder {out!r} {relation} the scoring data {scoring.url!r}; "
            "predictions written there would replace or mix with its files. Give 'out' a "
            "folder of its own.",
            url=out,
            options=("out",),
        )
    if target.within(Location.of(training.url, training.storage_options)):
        raise ConfigurationError(
            f"The output folder {out!r} lies inside the training data {training.url!r}; the "
            "next update would learn the predictions as new partitions. Give 'out' a folder "
            "outside it.",
            url=out,
            options=("out",),
        )
    output_folder(out, out_options, what="predictions")
