"""Whether a higher or a lower value of a metric is better, judged from its name.

Shared by the daemon (a diff says whether a change is an improvement) and the UI (a sort
"best first"), so both always agree on what "better" means.
"""

from __future__ import annotations

import re

# Name parts that mark a metric where lower is better.
_LOWER_IS_BETTER = frozenset(
    {
        "loss", "losses", "error", "errors", "err", "mse", "rmse", "mae", "mape", "smape", "wape",
        "msle", "rmsle", "mad", "nll", "logloss", "perplexity", "ppl", "wer", "cer", "ter",
        "brier", "ece", "mce", "fpr", "fnr", "far", "frr", "eer", "fdr", "false", "miss",
        "fid", "kl", "kld", "divergence", "distance", "regret", "cost", "drift",
        "latency", "ttft", "time", "duration", "seconds", "second", "secs", "sec", "ms",
        "memory", "mem", "ram", "vram", "bytes", "mb", "gb", "bpb", "bpc", "bpd", "bits",
    }
)  # fmt: skip
# Name parts that mark a rate or an improvement even next to a lower-is-better part.
_HIGHER_IS_BETTER = frozenset(
    {"throughput", "qps", "rps", "tps", "fps", "speedup", "reduction", "improvement", "gain", "savings", "saved"}
)
_TIME_UNITS = frozenset({"s", "sec", "secs", "second", "seconds", "ms", "min", "minute", "hour", "h"})
# Prefixes that negate a score so that higher is better (scikit-learn's `neg_log_loss`).
_NEGATIONS = frozenset({"neg", "negative"})
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def metric_direction(key: str) -> int:
    """+1 when a higher value of the metric `key` is better, -1 when lower is better.

    A heuristic on the parts of the name (split at punctuation and camelCase): losses,
    errors, distances, latencies, durations, sizes and the like are lower-is-better;
    rates per unit of time (`tokens_per_second`, `qps`) and improvements are
    higher-is-better; a leading `neg`/`negative` flips the verdict, so `neg_mean_squared_error`
    and `log_likelihood` are higher-is-better but `negative_log_likelihood` is not.
    Anything unrecognised (accuracy, auc, f1, bleu, ...) is higher-is-better.
    """
    parts = [part for part in _SEPARATORS.split(_CAMEL_BOUNDARY.sub("_", key).lower()) if part]
    if not parts:
        return 1
    negated = parts[0] in _NEGATIONS
    direction = 1
    per_time = any(
        part == "per" and index + 1 < len(parts) and parts[index + 1] in _TIME_UNITS for index, part in enumerate(parts)
    )
    if not per_time and not _HIGHER_IS_BETTER.intersection(parts):
        # Compound words such as "celoss" or "hingeloss" end in a lower-is-better part.
        if any(part in _LOWER_IS_BETTER or part.endswith("loss") for part in parts):
            direction = -1
    return -direction if negated else direction
