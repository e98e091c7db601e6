"""``init``: pin a model spec from the user's choices and the data's schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from distinc.config import StorageOptions, public_options
from distinc.dataset.listing import list_partitions
from distinc.dataset.partition import DataSource, absolute_location
from distinc.dataset.schema import is_numeric, kind_of
from distinc.estimators import build_estimator, default_strategy, resolve_path, task_of
from distinc.exceptions import ConfigurationError, DataError
from distinc.models.merge import can_merge
from distinc.spec import ModelSpec, TrainingOptions
from distinc.store.store import ModelStore
from distinc.trainers import available_strategies, trainer_for
from distinc.trainers.boosting.rows import validation_keys
from distinc.trainers.recipe import check_recipe

logger = logging.getLogger("distinc")


def _data_schema(source: DataSource) -> tuple[str, dict[str, str]]:
    """The first partition's key and its column types, read from its footer only."""
    partitions = list_partitions(source)
    if not partitions:
        raise DataError(
            f"No Parquet files under {source.url!r}; init reads the column names and types "
            "from the data, so add at least one partition first.",
            url=source.url,
        )
    first = partitions[0].key
    fs, _ = source.filesystem()
    with fs.open(source.path_of(first), "rb") as handle:
        schema = pq.read_schema(handle)
    return first, {field.name: str(field.type) for field in schema}


def _choose_features(
    columns: dict[str, str], first: str, *, target: str | None, features: Sequence[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if target is not None and target not in columns:
        raise ConfigurationError(
            f"The target column {target!r} is not in partition {first!r} (columns: "
            f"{sorted(columns)}).",
            column=target,
        )
    chosen = list(features) if features else [name for name in columns if name != target]
    if target is not None and target in chosen:
        raise ConfigurationError(
            f"The target column {target!r} is listed as a feature; a model must not see its "
            "own label. Leave it out of 'features'.",
            column=target,
            option="features",
        )
    twice = sorted({name for name in chosen if chosen.count(name) > 1})
    if twice:
        raise ConfigurationError(
            f"The feature column {twice[0]!r} is listed more than once in 'features'.",
            column=twice[0],
            option="features",
        )
    for name in chosen:
        if name not in columns:
            raise ConfigurationError(
                f"The feature column {name!r} is not in partition {first!r} (columns: "
                f"{sorted(columns)}).",
                column=name,
            )
        if kind_of(columns[name]) == "other":
            raise ConfigurationError(
                f"The feature column {name!r} is {columns[name]} in partition {first!r}; "
                "features must be numeric, boolean, string or dictionary columns. Leave it out "
                "with the 'features' option, or convert it when writing the data.",
                column=name,
                options=("features",),
            )
    if not chosen:
        raise ConfigurationError(
            "The model would have no feature columns; name them with the 'features' option.",
            option="features",
        )
    return tuple(chosen), tuple(columns[name] for name in chosen)


def _declared_classes(
    classes: Sequence[Any] | None, first: str, *, target: str | None, columns: dict[str, str]
) -> tuple[Any, ...] | None:
    """The declared classes, as values of the target column's type.

    ``--classes 1,2`` parses as numbers; for a text label those are the strings "1" and "2".
    """
    if classes is None:
        return None
    if isinstance(classes, str | bytes):
        raise ConfigurationError(f"classes must be a list of labels, not the string {classes!r}.")
    declared = tuple(classes)
    twice = sorted({repr(label) for label in declared if declared.count(label) > 1})
    if twice:
        raise ConfigurationError(f"The class {twice[0]} is declared more than once.", column=target)
    target_type = columns[target] if target is not None else ""
    if _holds_text(target_type):
        return tuple(str(label) for label in declared)
    wrong = [label for label in declared if not isinstance(label, int | float)]
    if is_numeric(target_type) and wrong:
        raise ConfigurationError(
            f"The target column {target!r} is {target_type} in partition {first!r}, but the "
            f"declared class {wrong[0]!r} is not a number; declare the classes as numbers.",
            column=target,
            label=wrong[0],
        )
    return declared


def _holds_text(type_name: str) -> bool:
    """Whether a column of ``type_name`` holds strings (plain or dictionary-encoded).

    Examples
    --------
    >>> _holds_text("large_string"), _holds_text("dictionary<values=string, indices=int32, "
    ...     "ordered=0>"), _holds_text("int64")
    (True, True, False)
    """
    kind = kind_of(type_name)
    if kind == "category":
        return "values=string" in type_name or "values=large_string" in type_name
    return kind == "string"


def _storable(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as the spec stores them (JSON): NumPy values become Python ones, and a value
    JSON cannot hold is refused by name."""
    plain = {
        name: value.tolist() if isinstance(value, np.generic | np.ndarray) else value
        for name, value in params.items()
    }
    for name, value in plain.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"The parameter {name!r} is {type(value).__name__} {value!r}, which the store's "
                "spec (JSON) cannot hold; pass a number, string, boolean, list or mapping.",
                parameter=name,
            ) from exc
    return plain


def _choose_categorical(
    features: tuple[str, ...],
    types: tuple[str, ...],
    declared: Sequence[str] | None,
    *,
    model: str,
    strategy: str,
) -> tuple[str, ...]:
    """String and dictionary features, plus any declared ones; refused if ``strategy`` can't."""
    textual = [name for name, kind in zip(features, types, strict=True) if not is_numeric(kind)]
    for name in declared or ():
        if name not in features:
            raise ConfigurationError(
                f"The categorical column {name!r} is not a feature of this model "
                f"({list(features)}).",
                column=name,
            )
    chosen = tuple(name for name in features if name in textual or name in (declared or ()))
    if chosen and not trainer_for(strategy).supports_categorical:
        raise ConfigurationError(
            f"{model} with the {strategy!r} strategy cannot learn categorical features yet; "
            f"{list(chosen)} are categorical. Leave them out with the 'features' option.",
            column=chosen[0],
            options=("features",),
        )
    return chosen


def _with_article(task: str) -> str:
    """``task`` with its article: "a regression", "an unsupervised"."""
    return f"an {task}" if task[0] in "aeiou" else f"a {task}"


def _usable_strategies(path: str, estimator: Any) -> list[str]:
    """The strategies that can train ``estimator`` (at ``path``), among those available.

    Examples
    --------
    >>> from sklearn.linear_model import SGDClassifier
    >>> _usable_strategies("sklearn.linear_model.SGDClassifier", SGDClassifier())
    ['ensemble', 'stream']
    """
    can = {
        "ensemble": True,
        "stream": hasattr(estimator, "partial_fit"),
        "merge": can_merge(estimator),
        "xgboost": path.startswith("xgboost."),
    }
    return [name for name in available_strategies() if can.get(name, True)]


def initialise(
    store_url: str,
    *,
    data: str,
    model: str,
    target: str | None = None,
    params: dict[str, Any] | None = None,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    classes: Sequence[Any] | None = None,
    strategy: str | None = None,
    options: TrainingOptions | None = None,
    storage: StorageOptions | None = None,
) -> ModelStore:
    """Create a store for ``model`` trained on the Parquet data at ``data``.

    The data's storage options are pinned in the spec without their credentials, which are
    given again at each run (flags, the distinc settings or the backend's own environment).
    """
    storage = storage or StorageOptions()
    params = _storable({**(params or {})})
    path = resolve_path(model)
    estimator = build_estimator(path, params)
    task = task_of(estimator)
    if task != "unsupervised" and target is None:
        raise ConfigurationError(
            f"{model} is {_with_article(task)} model: name its label column with the 'target' "
            "option.",
            option="target",
        )
    if classes is not None and task != "classification":
        raise ConfigurationError(
            f"The 'classes' option applies to classifiers; {model} is {_with_article(task)} model.",
            option="classes",
        )
    options = options or TrainingOptions()
    chosen = strategy or default_strategy(path, estimator)
    if strategy is None and chosen == "merge" and options.scale != "none":
        # Rows scaled by a scaler still learning differ per group, so a merge would not be exact.
        chosen = "stream"
    usable = _usable_strategies(path, estimator)
    if chosen not in available_strategies():
        raise ConfigurationError(
            f"The {chosen!r} strategy for {model} is not available; {model} can use: {usable}.",
            strategy=chosen,
        )
    if chosen == "xgboost" and chosen not in usable:
        raise ConfigurationError(
            f"The 'xgboost' strategy trains XGBoost models (the 'model' option 'xgboost', "
            f"XGBClassifier or XGBRegressor), not {model}; {model} can use: {usable}.",
            strategy=chosen,
            options=("model",),
        )
    if chosen == "stream" and not hasattr(estimator, "partial_fit"):
        raise ConfigurationError(
            f"{model} with these parameters has no partial_fit, so it cannot stream.",
            strategy=chosen,
        )
    if chosen == "merge" and not can_merge(estimator):
        raise ConfigurationError(
            f"{model} does not merge exactly; the 'merge' strategy takes naive Bayes models and "
            "scalers. Leave the 'strategy' option out to use the default.",
            strategy=chosen,
            options=("strategy",),
        )
    data = absolute_location(data)
    if options.validation is not None:
        options = dataclasses.replace(options, validation=absolute_location(options.validation))
    source = DataSource(data, storage.data)
    first, columns = _data_schema(source)
    names, types = _choose_features(columns, first, target=target, features=features)
    declared = _declared_classes(classes, first, target=target, columns=columns)
    encoded = _choose_categorical(names, types, categorical, model=model, strategy=chosen)
    pinned, credentials = public_options(storage.data)
    if credentials:
        logger.info(
            "not writing the credential option(s) %s to the store; give them again to later "
            "commands",
            ", ".join(credentials),
        )
    spec = ModelSpec(
        data=data,
        model=model,
        estimator=path,
        strategy=chosen,
        task=task,
        target=target,
        features=names,
        feature_types=types,
        params=params,
        classes=declared,
        categorical=encoded,
        storage_options=pinned,
        options=options,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    trainer_for(chosen).check_spec(spec)
    if options.validation is not None:
        validation_keys(options.validation, storage.data)
    check_recipe(spec, estimator)
    return ModelStore.create(store_url, spec, storage_options=storage.store)
