"""Demo data for `studbook demo`: a few models with versions, metrics, lineage and a promotion.

`load_demo` is the one place to make the demo richer. It only talks to the daemon
through the client, like any training script, and fixed request ids make a second run
(after an interrupted first one) add nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from studbook.tui import calls
from studbook.tui.client import Client
from studbook.tui.errors import StudbookError
from studbook.v1 import resources_pb2

# The demo counts as loaded once this model has a production version (its last step).
MARKER_MODEL = "fraud-detector"
MARKER_STAGE = "production"


@dataclass(frozen=True)
class DemoVersion:
    model: str
    metrics: Mapping[str, float]
    params: Mapping[str, object]
    change_kind: str
    data_versions: Mapping[str, str] = field(default_factory=dict)
    parents: tuple[tuple[str, str], ...] = ()
    description: str = ""


def _environment(**packages: str) -> resources_pb2.Environment:
    return resources_pb2.Environment(python_version="3.11.9", platform="Linux-6.1.0-x86_64", packages=packages)


_SKLEARN = _environment(**{"scikit-learn": "1.5.1", "numpy": "1.26.4", "pandas": "2.2.2"})
_TORCH = _environment(torch="2.3.1", transformers="4.44.0", safetensors="0.4.4", numpy="1.26.4")

MODELS: dict[str, tuple[str, resources_pb2.Environment]] = {
    "fraud-detector": ("Flags card transactions for manual review.", _SKLEARN),
    "churn-predictor": ("Monthly churn risk per subscriber.", _SKLEARN),
    "sentiment-bert": ("Review sentiment, fine-tuned from a BERT base.", _TORCH),
}

VERSIONS: tuple[DemoVersion, ...] = (
    DemoVersion(
        "fraud-detector",
        {"auc": 0.912, "precision": 0.81, "recall": 0.74},
        {"n_estimators": 200, "max_depth": 6},
        "initial",
        {"transactions": "2025-10"},
    ),
    DemoVersion(
        "fraud-detector",
        {"auc": 0.931, "precision": 0.84, "recall": 0.76},
        {"n_estimators": 200, "max_depth": 6},
        "data",
        {"transactions": "2025-12"},
    ),
    DemoVersion(
        "fraud-detector",
        {"auc": 0.936, "precision": 0.85, "recall": 0.77},
        {"n_estimators": 400, "max_depth": 8},
        "tuning",
        {"transactions": "2025-12"},
    ),
    DemoVersion("churn-predictor", {"f1": 0.68, "auc": 0.81}, {"C": 1.0}, "initial", {"subscribers": "2025-11"}),
    DemoVersion("churn-predictor", {"f1": 0.71, "auc": 0.83}, {"C": 0.5}, "tuning", {"subscribers": "2025-11"}),
    DemoVersion("sentiment-bert", {"accuracy": 0.902, "f1": 0.897}, {"lr": 3e-5}, "initial", {"reviews": "v1"}),
    DemoVersion(
        "sentiment-bert",
        {"accuracy": 0.917, "f1": 0.913},
        {"lr": 2e-5},
        "data",
        {"reviews": "v2"},
        parents=(("sentiment-bert@1", "fine_tuned_from"),),
        description="Fine-tuned further on the second review export.",
    ),
)

# (version, stage, reason)
PROMOTIONS: tuple[tuple[str, str, str], ...] = (
    ("fraud-detector@2", "production", "beats v1 on auc; reviewed by the risk team"),
    ("fraud-detector@3", "staging", "tuned candidate for the next release"),
)


def is_loaded(client: Client) -> bool:
    try:
        model = client.get_model(MARKER_MODEL)
    except StudbookError as error:
        if error.code == "NOT_FOUND":
            return False
        raise
    return MARKER_STAGE in model.stage_holders


def load_demo(client: Client) -> None:
    """Register the demo models, versions and promotions through `client`."""
    for model, (description, _) in MODELS.items():
        try:
            client.create_model(model, description=description, owner="demo", request_id=f"demo-model-{model}")
        except StudbookError as error:
            if error.code != "ALREADY_EXISTS":
                raise
    counts: dict[str, int] = {}
    for spec in VERSIONS:
        counts[spec.model] = counts.get(spec.model, 0) + 1
        number = counts[spec.model]
        request = calls.register_request(
            spec.model,
            uri=f"s3://demo-models/{spec.model}/{number}/",
            metrics=spec.metrics,
            params=spec.params,
            tags={"team": "demo"},
            description=spec.description,
            change_kind=spec.change_kind,
            seed=42,
            data_versions=spec.data_versions,
            parents=spec.parents,
            environment_info=MODELS[spec.model][1],
            git=False,
            request_id=f"demo-version-{spec.model}-{number}",
            created_from="demo",
            entry_point="train.py",
        )
        client.register_version(request)
    for version, stage, reason in PROMOTIONS:
        client.promote(version, stage, reason=reason, request_id=f"demo-promote-{version}-{stage}")
