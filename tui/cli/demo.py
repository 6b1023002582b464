"""Demo data for `studbook demo`: a few models with versions, metrics, lineage and a promotion.

`load_demo` is the one place to make the demo richer. It only talks to the daemon
through the client, like any training script, and fixed request ids make a second run
(after an interrupted first one) add nothing twice.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from studbook.client import calls
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
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
    "sentiment-distil": ("A small student of sentiment-bert for on-device use.", _TORCH),
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


def _history() -> tuple[DemoVersion, ...]:
    """Dozens more versions, so tables page and charts have a shape: a few months of retrains."""
    made = []
    for i in range(9):  # fraud-detector v4..v12: monthly data, the odd tuning run
        month = f"2026-{i + 1:02d}"
        made.append(DemoVersion(
            "fraud-detector",
            {"auc": round(0.936 + 0.003 * i - (0.012 if i == 6 else 0), 3), "precision": round(0.85 + 0.004 * i, 3),
             "recall": round(0.77 + 0.003 * i, 3), "latency_ms": round(11.5 - 0.3 * i, 1)},
            {"n_estimators": 400 + 50 * i, "max_depth": 8 + i % 3},
            "data" if i % 3 else "tuning",
            {"transactions": month},
        ))  # fmt: skip
    for i in range(10):  # churn-predictor v3..v12
        made.append(DemoVersion(
            "churn-predictor", {"f1": round(0.71 + 0.006 * i, 3), "auc": round(0.83 + 0.004 * i, 3)},
            {"C": round(0.5 / (i + 1), 4), "penalty": "l2"}, "tuning" if i % 2 else "data",
            {"subscribers": f"2026-{i + 1:02d}"},
        ))  # fmt: skip
    for i in range(4):  # sentiment-bert v3..v6
        made.append(DemoVersion(
            "sentiment-bert", {"accuracy": round(0.917 + 0.004 * i, 3), "f1": round(0.913 + 0.004 * i, 3)},
            {"lr": 2e-5, "epochs": 3 + i}, "tuning", {"reviews": "v2"},
        ))  # fmt: skip
    made.append(DemoVersion(
        "sentiment-distil", {"accuracy": 0.905, "f1": 0.899, "latency_ms": 4.1}, {"temperature": 2.0},
        "initial", {"reviews": "v2"}, parents=(("sentiment-bert@6", "distilled_from"),),
        description="Distilled from sentiment-bert v6 for the mobile app.",
    ))  # fmt: skip
    return tuple(made)


VERSIONS = VERSIONS + _history()

# (version, stage or alias, reason); applied in order, so production changes hands a few times.
PROMOTIONS: tuple[tuple[str, str, str], ...] = (
    ("fraud-detector@2", "production", "beats v1 on auc; reviewed by the risk team"),
    ("fraud-detector@3", "staging", "tuned candidate for the next release"),
    ("fraud-detector@3", "production", "passed a week in staging"),
    ("fraud-detector@9", "production", "January to June data, better recall"),
    ("fraud-detector@10", "production", "retrained on July"),
    ("fraud-detector@12", "staging", "September retrain, waiting for review"),
    ("fraud-detector@8", "champion", "best auc per dollar so far"),
    ("churn-predictor@11", "production", "first churn model in production"),
    ("churn-predictor@12", "canary", "5% of traffic"),
    ("sentiment-bert@6", "production", "more epochs, same data"),
    ("sentiment-distil@1", "staging", "latency budget met on device"),
)
# Rolled back after the promotions: v10 regressed on a holiday spike, v9 goes back in.
ROLLBACKS: tuple[tuple[str, str, str], ...] = (
    ("fraud-detector", "production", "v10 raised false positives on the holiday spike"),
)
# Per-step training curves for the charts.
CURVES: tuple[str, ...] = ("fraud-detector@12", "sentiment-bert@6", "sentiment-distil@1")


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
            environment=MODELS[spec.model][1],
            git=False,
            request_id=f"demo-version-{spec.model}-{number}",
            created_from="demo",
            entry_point="train.py",
        )
        client.register_version(request)
    for version in CURVES:
        for step in range(1, 31):
            loss = round(1.2 * 0.9**step + 0.05, 4)
            client.log_metrics(version, {"loss": loss}, step=step, split="train")
            client.log_metrics(version, {"loss": round(loss * 1.15 + 0.01, 4)}, step=step, split="validation")
    for version, stage, reason in PROMOTIONS:
        client.promote(version, stage, reason=reason, request_id=f"demo-promote-{version}-{stage}")
    for model, stage, reason in ROLLBACKS:
        client.rollback(model, stage, reason=reason)


DROPS_FOLDER = "demo-drops"


def daemon_args(data_dir: Path) -> list[str]:
    """A demo daemon also watches a drop folder, so the drops screen has something to show."""
    return ["--watch", str(data_dir / DROPS_FOLDER), "--quiet-seconds", "0.5"]


def make_drops(data_dir: Path) -> None:
    """One good drop that registers itself, and one hostile file that ends in quarantine."""
    root = data_dir / DROPS_FOLDER
    tiny = root / "tiny-mlp"
    tiny.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4, 2], "data_offsets": [0, 32]},
                         "__metadata__": {"format": "pt"}}).encode()  # fmt: skip
    _write_once(tiny / "model.safetensors", struct.pack("<Q", len(header)) + header + bytes(32))
    broken = root / "sentiment-bert"
    broken.mkdir(parents=True, exist_ok=True)
    # A header that claims ten gigabytes: refused with a reason, never read whole.
    _write_once(broken / "upload.safetensors", struct.pack("<Q", 10 * 2**30) + b"{}")


def _write_once(path: Path, data: bytes) -> None:
    if not path.exists():
        staged = path.with_name(f".{path.name}.tmp")
        staged.write_bytes(data)
        staged.rename(path)  # complete the moment it appears
