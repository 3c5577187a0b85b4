"""Typed view of the project's parameters (``conf/<env>/parameters*.yml``).

Nodes receive plain dictionaries from Kedro; they parse them here so that a typo in
YAML fails with the key that is wrong instead of a ``KeyError`` deep in a node.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class UserFixableError(Exception):
    """An error the user fixes in their configuration or data, not in the code: `kedro run`
    prints its message without a traceback (ml_on_aws.cli_errors)."""


def error_chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it came from (``__cause__``, else ``__context__``), each once:
    Kedro and the libraries may wrap the error that says what is wrong."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class ConfigurationError(UserFixableError, ValueError):
    """A parameter does not fit the data or the task; raised before the first node, or by the
    node that first sees the values the parameter is about.

    With ``setting`` (a dotted key) the message ends with where to fix it: "Fix '<key>' in
    <file>." A node knows the key, not the file that sets it (``file`` None reads "the
    parameters"): ``ml_on_aws.hooks.config_checks`` names the file when the run stops on it.
    """

    def __init__(self, message: str, setting: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.message, self.setting, self.file = message, setting, file

    def __str__(self) -> str:
        if self.setting is None:
            return self.message
        return f"{self.message} Fix '{self.setting}' in {self.file or 'the parameters'}."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Task = Literal["classification", "regression", "clustering"]


class DataConfig(_Strict):
    """What the dataset is: the task, the target and which columns are features."""

    task: Task
    target: str | None = None
    numeric_features: list[str] | None = Field(
        default=None, description="None: every numeric column that is not the target or dropped."
    )
    categorical_features: list[str] | None = Field(
        default=None, description="None: every non-numeric column that is not the target or dropped."
    )
    date_features: list[str] = Field(default_factory=list)
    drop_columns: list[str] = Field(default_factory=list)
    positive_label: str | int | float | bool | None = Field(
        default=None, description="Binary classification: the class whose probability ROC AUC uses."
    )

    @field_validator("target")
    @classmethod
    def _blank_target_is_none(cls, value: str | None) -> str | None:
        return value or None


class SplitConfig(_Strict):
    test_size: float = Field(default=0.2, gt=0, lt=1)
    random_state: int = 42
    stratify: bool = True


class DerivedFeature(_Strict):
    """A feature computed from others, inside the model so that serving computes it too."""

    name: str
    kind: Literal["ratio", "difference", "product", "log", "date_parts"]
    columns: list[str] = Field(min_length=1)
    parts: list[Literal["year", "month", "day", "dayofweek", "dayofyear", "hour"]] = Field(
        default_factory=lambda: ["year", "month", "dayofweek"]
    )


class FeatureConfig(_Strict):
    derived: list[DerivedFeature] = Field(default_factory=list)
    numeric_imputation: Literal["mean", "median", "most_frequent", "constant"] = "median"
    categorical_imputation: Literal["most_frequent", "constant"] = "constant"
    scaling: Literal["standard", "minmax", "robust", "none"] = "standard"
    one_hot_min_frequency: float | int | None = 0.01
    one_hot_max_categories: int | None = 30


class EstimatorConfig(_Strict):
    class_path: str = Field(alias="class")
    kwargs: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SearchConfig(_Strict):
    kind: Literal["grid", "randomized", "none"] = "randomized"
    n_iter: int = Field(default=10, ge=1)
    cv: int = Field(default=5, ge=2)
    scoring: str | None = None
    n_jobs: int | None = -1
    random_state: int = 42
    verbose: int = 1
    space: dict[str, list[Any] | dict[str, Any]] = Field(default_factory=dict)


class ClusteringCandidate(_Strict):
    estimator: EstimatorConfig
    space: dict[str, list[Any]] = Field(default_factory=dict)


class ClusteringConfig(_Strict):
    candidates: list[ClusteringCandidate] = Field(min_length=1)
    silhouette_sample_size: int = Field(default=5000, ge=100)
    random_state: int = 42


class TrainingConfig(_Strict):
    estimator: EstimatorConfig
    search: SearchConfig = SearchConfig()
    clustering: ClusteringConfig | None = None


class QualityGate(_Strict):
    metric: str
    min_test_score: float
    greater_is_better: bool = True


class EvaluationConfig(_Strict):
    quality_gate: QualityGate
    overfit_gap: float = Field(default=0.05, ge=0, description="Train minus test primary score above this: high variance.")
    learning_curve_max_rows: int = Field(default=20_000, ge=100)
    learning_curve_cv: int = Field(default=3, ge=2)
    plot_max_rows: int = Field(default=50_000, ge=100)


class InferenceConfig(_Strict):
    chunk_rows: int = Field(default=200_000, ge=1)
    keep_input_columns: bool = True
    # Score through the compiled prediction path when it gives scikit-learn's answers (ml_on_aws.pipelines.feature_engineering.compiled).
    compiled: bool = True


class RegistryConfig(_Strict):
    """How the trained model is packaged as an MLflow model (the registry name is in the catalog)."""

    input_example_rows: int = Field(default=5, ge=1, le=1000)
class ValidationConfig(_Strict):
    """How data is checked against its expectation suite (``conf/<env>/expectations/``)."""

    example_values: int = Field(default=5, ge=0, le=20, description="Failing values quoted per failed expectation.")
    observe_passing: bool = Field(
        default=False, description="Observed values of passing expectations too (report, Data Docs); ~3x slower."
    )
    max_categories: int = Field(
        default=50, ge=1, description="init-suite: a text column with more distinct values gets no allowed-value list."
    )
    null_tolerance: float = Field(
        default=0.02, ge=0, le=1, description="init-suite: extra share of nulls per column before a warning."
    )


class DriftThresholds(_Strict):
    """Effect sizes at or above which a column counts as drifted."""

    ks_statistic: float = Field(default=0.1, gt=0, le=1)
    psi: float = Field(default=0.2, gt=0)
    wasserstein: float = Field(default=0.25, gt=0, description="Distance in reference standard deviations.")
    kl_divergence: float = Field(default=0.1, gt=0)
    new_category_share: float = Field(default=0.02, gt=0, le=1, description="Share of batch rows with unseen categories.")
    vanished_category_share: float = Field(
        default=0.05, gt=0, le=1, description="Reference share of categories absent from the batch."
    )
    missing_rate_change: float = Field(default=0.05, gt=0, le=1)


class DriftConfig(_Strict):
    """Compare a new batch with the data the current model was trained on."""

    reference_max_rows: int = Field(default=100_000, ge=100, description="Training rows kept as the drift reference.")
    numeric_bins: int = Field(default=10, ge=2, description="Quantile bins of the reference for PSI and KL divergence.")
    p_value: float = Field(
        default=0.01, gt=0, lt=1, description="A distribution shift must also be significant at this level."
    )
    thresholds: DriftThresholds = DriftThresholds()
    min_drifted_columns: int = Field(default=1, ge=1, description="Retrain when at least this many columns drift.")
    random_state: int = 42


class MonitoringWindow(_Strict):
    """The captured requests a monitoring run reads: those of the ``hours`` before ``end``."""

    end: datetime | None = Field(
        default=None, description="ISO-8601, UTC unless it names a zone (2026-11-30T00:00:00Z); None: the newest "
                                  "captured record's time (that record included)."
    )
    hours: float = Field(default=24, gt=0, description="Length of the window.")

    @field_validator("end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MonitoringConfig(_Strict):
    """Drift and quality of the traffic an endpoint received (its data capture)."""

    window: MonitoringWindow = MonitoringWindow()
    model_version: str | None = Field(
        default=None, description="The registered model version the endpoint serves (<name>/<version>), for the report "
                                  "and the metrics' ModelVersion dimension; None: not reported."
    )


# Parameter sections and their schema, checked together before a run starts.
SECTIONS: dict[str, type[BaseModel]] = {
    "data": DataConfig,
    "split": SplitConfig,
    "features": FeatureConfig,
    "training": TrainingConfig,
    "evaluation": EvaluationConfig,
    "inference": InferenceConfig,
    "registry": RegistryConfig,
    "validation": ValidationConfig,
    "drift": DriftConfig,
    "monitoring": MonitoringConfig,
}


def parse(model: type[BaseModel], params: dict[str, Any], section: str) -> Any:
    """Parse ``params`` (the ``section`` of the parameters) or name the keys that are wrong."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise ConfigurationError(f"Invalid parameters ({'; '.join(problems(exc, section))}).") from None


def problems(error: ValidationError, section: str = "") -> list[str]:
    """``"<dotted key>: <what is wrong>"`` for each problem pydantic found, keys below ``section``.

    Every configuration file (parameters, sagemaker.yml, cloudwatch.yml, the expectation suite)
    reports its errors this way, so a message always names the key to fix.
    """
    def key(location: tuple[Any, ...]) -> str:
        return ".".join(str(part) for part in (section, *location) if part != "") or "<file>"

    def message(detail: Any) -> str:
        if detail["type"] == "missing":
            return "is required"
        if detail["type"] in {"string_type", "model_type"} and detail.get("input") is None:
            return "is required (it is empty; is its environment variable set?)"
        return str(detail["msg"]).removeprefix("Value error, ")

    return [f"{key(detail['loc'])}: {message(detail)}" for detail in error.errors()]


def project_config_loader(project_path: Path, env: str | None, *, data_locations: bool = True) -> Any:
    """The project's Kedro config loader for ``env``, built as ``kedro run`` builds it (settings.py),
    for commands that read configuration without starting a session.

    ``data_locations=False`` leaves out globals.yml, where the catalog's data lives: for settings
    that do not depend on it and are read before that storage exists (the `aws` environment's
    globals need ML_ON_AWS_BUCKET, which `kedro aws deploy-stack` creates).
    """
    from kedro.framework.project import settings

    args = dict(settings.CONFIG_LOADER_ARGS)
    if not data_locations:
        args["config_patterns"] = {**args.get("config_patterns", {}), "globals": []}
    return settings.CONFIG_LOADER_CLASS(conf_source=str(project_path / settings.CONF_SOURCE), env=env, **args)


def parameters_file_for(key: str, conf_source: Path, env: str | None, base_env: str = "base") -> str:
    """The parameters file that sets ``key`` (dotted), the run environment's winning over base."""
    return parameters_file_setting(key, conf_source, env, base_env) or f"{conf_source.name}/{base_env}/parameters.yml"


def parameters_file_setting(key: str, conf_source: Path, env: str | None, base_env: str = "base") -> str | None:
    """Like :func:`parameters_file_for`, but None when no parameters file sets ``key``."""
    head, *rest = key.split(".")
    for folder in ([env] if env and env != base_env else []) + [base_env]:
        for path in sorted((conf_source / folder).glob("**/parameters*.yml")):
            content = yaml.safe_load(path.read_text()) or {}
            node: Any = content.get(head, _MISSING)
            for part in rest:
                node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
            if node is not _MISSING:
                return str(path.relative_to(conf_source.parent))
    return None


_MISSING = object()
