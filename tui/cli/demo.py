"""Demo data for `studbook demo`: a few models with versions, metrics, lineage, promotions
approved by a second person, one promotion waiting for approval, a rollback, and production
feedback: what serving measured over each production holder's tenure, input windows against the
training data's reference statistics, and a monitor in breach that names a rollback candidate.

`load_demo` is the one place to make the demo richer. It only talks to the daemon
through the client, like any training script; fixed request ids make a second run (after
an interrupted first one) register and promote nothing twice.

The demo has its own registry (`default_data_dir`, `default_address`) with its own policy,
and its daemon starts on a simulated clock, so two weeks of history are written in seconds.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from studbook import locations
from studbook.client import calls
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from studbook.v1 import production_pb2, resources_pb2, stages_pb2

# The model whose production stage carries the demo's story: promotions, a rollback, production
# feedback. The demo counts as loaded once its last input window is recorded (its last write).
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

# (version, stage or alias, reason); applied in order, each right after its version is
# registered, so production changes hands a few times over the demo's two weeks.
PROMOTIONS: tuple[tuple[str, str, str], ...] = (
    ("fraud-detector@2", "production", "beats v1 on auc; reviewed by the risk team"),
    ("fraud-detector@3", "staging", "tuned candidate for the next release"),
    ("fraud-detector@3", "production", "passed a week in staging"),
    ("fraud-detector@8", "champion", "best auc per dollar so far"),
    ("fraud-detector@9", "production", "January to June data, better recall"),
    ("fraud-detector@10", "production", "retrained on July"),
    ("fraud-detector@12", "staging", "September retrain, waiting for review"),
    ("churn-predictor@11", "production", "first churn model in production"),
    ("churn-predictor@12", "canary", "5% of traffic"),
    ("sentiment-bert@6", "production", "more epochs, same data"),
    ("sentiment-distil@1", "staging", "latency budget met on device"),
)
# Asked for last and left waiting for an approval, so the approvals screen has one to decide.
WAITING: tuple[str, str, str] = ("fraud-detector@12", "production", "September retrain, a week in staging")
# The very last write: v10 regressed on a holiday spike, v9 goes back in.
ROLLBACKS: tuple[tuple[str, str, str], ...] = (
    ("fraud-detector", "production", "v10 raised false positives on the holiday spike"),
)
# What serving measured (one window every WINDOW hours) while each version held fraud-detector's
# production: auc and latency_ms around these levels. v10's last windows fell on the holiday spike.
WINDOW = timedelta(hours=6)
PRODUCTION_LEVELS: dict[int, tuple[float, float]] = {2: (0.918, 12.4), 3: (0.928, 12.9), 9: (0.944, 10.6),
                                                     10: (0.927, 10.3)}  # fmt: skip
SPIKE: tuple[tuple[float, float], ...] = ((0.905, 12.8), (0.889, 15.1), (0.874, 18.6))
# After the rollback v9 holds again, and the spike catches up with it too: one round of
# measurements and one input window each, logged as they come. Its last three rounds breach
# the monitor (auc more than 3% below v9's evaluation), which names an earlier holder instead.
AFTER_ROLLBACK: tuple[tuple[dict[str, float], dict[str, float]], ...] = (
    ({"auc": 0.939, "latency_ms": 10.9}, {"shift": 0.0}),
    ({"auc": 0.914, "latency_ms": 11.6}, {"shift": 0.05}),
    ({"auc": 0.898, "latency_ms": 12.8}, {"shift": 0.12}),
    ({"auc": 0.883, "latency_ms": 14.2}, {"shift": 0.25}),
)
# The fraud models' inputs: transaction amounts (binned) and the merchant's country.
AMOUNT_EDGES = (0.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0)
AMOUNT_SHARES = (0.14, 0.19, 0.21, 0.18, 0.14, 0.08, 0.04, 0.02)
COUNTRY_SHARES = {"de": 0.46, "fr": 0.22, "nl": 0.14, "it": 0.10, "other": 0.08}
# Per-step training curves for the charts.
CURVES: tuple[str, ...] = ("fraud-detector@12", "sentiment-bert@6", "sentiment-distil@1")
CURVE_STEPS = 30

# The labels the daemon treats as stages (every other target is an alias).
STAGES = ("development", "staging", "production")

# Who acts in the demo's history: one person asks, another approves. The user is neither,
# so the promotion left waiting is theirs to approve or reject.
REQUESTER = "dana@demo"
APPROVER = "sam@demo"
# The demo's history is spread over this many days (a simulated clock, see daemon/app/clock.py).
HISTORY_DAYS = 14

# The demo's promotion policy: production needs a gate and a second person's approval, and
# fraud-detector's production is watched by a monitor.
POLICY = """\
# The studbook demo's promotion policy (see the README's "Promotion policy").
[[models]]
pattern = "fraud-*"
[models.gates.production]
metrics = ["auc >= 0.90"]
require = ["environment"]
approvals = 1
[models.monitors.production]
metrics = ["auc >= 0.90", "auc drop > 3%"]
drift = ["psi > 0.2"]
windows = 3
rank_by = "auc"
auto_rollback = false

[[models]]
pattern = "*"
[models.gates.production]
approvals = 1
"""
POLICY_NAME = "policy.toml"


def default_data_dir() -> Path:
    """The demo's own registry, beside the user's (`$XDG_DATA_HOME/studbook-demo`), never in it."""
    return locations.data_dir().parent / "studbook-demo"


def default_address() -> str:
    """The demo daemon's own socket, so it never answers for (or as) the user's registry."""
    return f"unix://{locations.runtime_dir() / 'demo.sock'}"


def planned_writes() -> int:
    """The writes `load_demo` makes into a demo daemon with POLICY: each moves its simulated clock."""
    waits = sum(1 for _, stage, _ in PROMOTIONS if stage == "production")  # each one approved, a write more
    waiting = 2  # judged first with validate_only (the writer judges it too), then asked for
    history = len(MODELS) + len(VERSIONS) + len(CURVES) + len(PROMOTIONS) + waits + waiting + len(ROLLBACKS)
    # The policy's monitor watches MARKER_MODEL: after each change of that model's stages (its
    # aliases aside) and after each log call it checks the stage again, a write of its own.
    changes = sum(1 for version, stage, _ in PROMOTIONS if version.startswith(f"{MARKER_MODEL}@") and stage in STAGES)
    logs = 1 + 2 * len(AFTER_ROLLBACK)  # the production record so far, then each round's two logs
    return history + changes + len(ROLLBACKS) + 2 * logs


def is_loaded(client: Client) -> bool:
    """The demo's last write, its last input window, is recorded: everything before it is there."""
    try:
        windows = client.get_input_drift(MARKER_MODEL, MARKER_STAGE)
    except StudbookError as error:
        if error.code == "NOT_FOUND":
            return False
        raise
    return len(windows) >= len(AFTER_ROLLBACK)


def load_demo(client: Client, approver: Client | None = None) -> None:
    """Register the demo models, versions and promotions through `client`; `approver`, another
    person, approves the promotions that wait for one (none when it is not given)."""
    for model, (description, _) in MODELS.items():
        try:
            client.create_model(model, description=description, owner="demo", request_id=f"demo-model-{model}")
        except StudbookError as error:
            if error.code != "ALREADY_EXISTS":
                raise
    counts: dict[str, int] = {}
    for spec in VERSIONS:
        counts[spec.model] = counts.get(spec.model, 0) + 1
        version = f"{spec.model}@{counts[spec.model]}"
        _register(client, spec, counts[spec.model])
        if version in CURVES:
            client.log_metrics(version, _curve())
        for promoted, stage, reason in PROMOTIONS:
            if promoted == version:
                _promote(client, approver, promoted, stage, reason)
    version, stage, reason = WAITING
    planned = client.promote(version, stage, reason=reason, validate_only=True)
    newest = None  # the time of the demo's latest write, where one says it
    if planned.required_approvals:  # a daemon without the demo's policy would apply it at once
        waiting = client.promote(version, stage, reason=reason, request_id=f"demo-promote-{version}-{stage}-waiting")
        newest = waiting.create_time.ToDatetime(tzinfo=UTC)
    _log_production_record(client, newest)
    for model, stage, reason in ROLLBACKS:
        # A rollback has no request id: one already made (a run interrupted after it) is not made twice.
        if not any(change.rollback for change in client.stage_history(model, stage=stage).changes):
            client.rollback(model, stage, reason=reason)
    for i, (measured, inputs) in enumerate(AFTER_ROLLBACK, start=1):
        # Left to the daemon's clock: each round is logged when (in the demo's time) it was measured.
        client.observe(MARKER_MODEL, measured, stage=MARKER_STAGE, request_id=f"demo-observe-after-{i}")
        client.log_input_statistics(MARKER_MODEL, MARKER_STAGE, _inputs(**inputs),
                                    request_id=f"demo-inputs-after-{i}")  # fmt: skip


def _register(client: Client, spec: DemoVersion, number: int) -> None:
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
        # What the version was trained on, per feature: production input windows are held to it.
        reference_statistics=_inputs() if spec.model == MARKER_MODEL else None,
    )
    client.register_version(request)


def _inputs(shift: float = 0.0, total: float = 10_000) -> dict[str, dict[str, object]]:
    """A window of fraud-detector's inputs (`shift` 0: as in training): a shift moves weight to
    the large amounts and to merchants abroad, as the holiday spike did."""
    moved = [share * (1 - shift) + shift * (1.0 if i >= 5 else 0.0) / 3 for i, share in enumerate(AMOUNT_SHARES)]
    abroad = {k: v * (1 - shift) + (shift if k == "other" else 0.0) for k, v in COUNTRY_SHARES.items()}
    return {
        "amount": {"edges": list(AMOUNT_EDGES), "counts": [round(total * m) for m in moved]},
        "merchant_country": {"categories": {k: round(total * v) for k, v in abroad.items()}},
    }


def _log_production_record(client: Client, newest: datetime | None) -> None:
    """fraud-detector's production record so far, in one call as a serving job's backfill would
    send it: a window every WINDOW from the first promotion up to `newest` (the latest write),
    each valued for the version that held the stage at its end, the last ones on the spike."""
    changes = sorted(client.stage_history(MARKER_MODEL, stage=MARKER_STAGE).changes, key=lambda c: c.revision)
    if not changes:
        return
    starts = [(c.time.ToDatetime(tzinfo=UTC), int(c.version.rsplit("/", 1)[-1])) for c in changes]
    end = max([newest or starts[-1][0], starts[-1][0]])
    ends = []
    when = starts[0][0] + WINDOW
    while when <= end:
        ends.append(when)
        when += WINDOW
    points = []
    for i, window_end in enumerate(ends):
        number = [n for start, n in starts if start <= window_end][-1]
        auc, latency = PRODUCTION_LEVELS.get(number, (0.92, 12.0))
        # A small, repeatable wiggle, so the chart looks measured rather than drawn with a ruler.
        auc, latency = auc + 0.004 * math.sin(i * 1.7), latency + 0.6 * math.sin(i * 2.3 + 1)
        from_end = len(ends) - i
        if number == 10 and from_end <= len(SPIKE):
            auc, latency = SPIKE[len(SPIKE) - from_end]
        for key, value in (("auc", round(auc, 3)), ("latency_ms", round(latency, 1))):
            point = production_pb2.ProductionPoint(key=key, value=value)
            point.window_end.FromDatetime(window_end)
            points.append(point)
    if points:
        client.observe(MARKER_MODEL, points, stage=MARKER_STAGE, request_id="demo-observe-record")


def _curve() -> list[resources_pb2.Metric]:
    """A falling training loss and its validation twin, every step in one call."""
    metrics = []
    for step in range(1, CURVE_STEPS + 1):
        loss = round(1.2 * 0.9**step + 0.05, 4)
        metrics.append(resources_pb2.Metric(key="loss", value=loss, step=step, split="train"))
        metrics.append(resources_pb2.Metric(key="loss", value=round(loss * 1.15 + 0.01, 4), step=step,
                                            split="validation"))  # fmt: skip
    return metrics


def _promote(client: Client, approver: Client | None, version: str, stage: str, reason: str) -> None:
    promotion = client.promote(version, stage, reason=reason, request_id=f"demo-promote-{version}-{stage}")
    if approver is None or promotion.state != stages_pb2.PROMOTION_STATE_PENDING_APPROVAL:
        return
    try:
        approver.approve_promotion(promotion.name, comment="looked at the gates and the curves")
    except StudbookError as error:
        # A daemon reached with one token for both people takes them for one: the promotion
        # stays waiting, which a demo can live with.
        if error.code not in ("FAILED_PRECONDITION", "PERMISSION_DENIED"):
            raise


def client_as(actor: str, address: str, *, token: str | None = None, tls_ca: str | None = None,
              timeout: float | None = None) -> Client:  # fmt: skip
    """A client acting as `actor`: the socket's owner may say who acts, as $STUDBOOK_ACTOR does
    for a shared account. (Over a token the daemon records the token's name instead.)"""
    previous = os.environ.get(calls.ACTOR_ENV)
    os.environ[calls.ACTOR_ENV] = actor
    try:
        return Client(address, token=token, tls_ca=tls_ca, timeout=timeout)
    finally:  # the actor is read when the client is made; nothing else here acts as this person
        if previous is None:
            del os.environ[calls.ACTOR_ENV]
        else:
            os.environ[calls.ACTOR_ENV] = previous


def write_policy(data_dir: Path) -> Path:
    """The demo's policy file in its data dir (rewritten each time: it is the demo's, not the user's)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / POLICY_NAME
    path.write_text(POLICY)
    return path


DROPS_FOLDER = "demo-drops"


def daemon_args(data_dir: Path, *, policy: Path | None = None, history: bool = False) -> list[str]:
    """A demo daemon also watches a drop folder, so the drops screen has something to show;
    it enforces the demo's `policy`; with `history` (an empty catalog), the demo's writes are
    spread over the last HISTORY_DAYS days."""
    args = ["--watch", str(data_dir / DROPS_FOLDER), "--quiet-seconds", "0.5"]
    if policy is not None:
        args += ["--policy", str(policy)]
    if history:
        args += ["--simulated-days", str(HISTORY_DAYS), "--simulated-writes", str(planned_writes())]
    return args


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
