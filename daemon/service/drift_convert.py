"""Input statistics and drift between the domain and the v1 messages."""

from __future__ import annotations

from collections.abc import Iterable

from studbook.daemon.domain.drift import FeatureStats, InputsLogged, categories, histogram, validate_feature_name
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.names import version_name
from studbook.daemon.service.convert import _set_time
from studbook.daemon.store.drift import StoredWindow
from studbook.v1 import production_pb2


def features_from_proto(messages: Iterable[production_pb2.FeatureStatistics]) -> list[FeatureStats]:
    """Each message as validated statistics (INVALID_ARGUMENT naming the feature otherwise)."""
    found: list[FeatureStats] = []
    for message in messages:
        kind = message.WhichOneof("kind")
        if kind == "histogram":
            found.append(histogram(message.feature, list(message.histogram.edges), list(message.histogram.counts)))
        elif kind == "categories":
            found.append(categories(message.feature, dict(message.categories.counts)))
        else:
            validate_feature_name(message.feature)
            raise InvalidArgument(f"feature {message.feature!r} has neither a histogram nor categories",
                                  reason="INVALID_STATISTICS", field="features", feature=message.feature)  # fmt: skip
    return found


def features_to_proto(stats: Iterable[FeatureStats]) -> list[production_pb2.FeatureStatistics]:
    out = []
    for s in stats:
        if s.numeric:
            out.append(production_pb2.FeatureStatistics(
                feature=s.feature, histogram=production_pb2.Histogram(edges=s.edges, counts=s.weights)))  # fmt: skip
        else:
            out.append(production_pb2.FeatureStatistics(
                feature=s.feature, categories=production_pb2.Categories(counts=dict(zip(s.categories, s.weights)))))  # fmt: skip
    return out


def window_to_proto(window: StoredWindow) -> production_pb2.WindowDrift:
    message = production_pb2.WindowDrift(
        segment=window.segment, version=version_name(window.model, window.number), max_psi=window.max_psi,
        max_ks=window.max_ks,
        features=[production_pb2.FeatureDrift(feature=d.feature, psi=d.psi, ks=d.ks, no_reference=d.no_reference)
                  for d in window.features],
    )  # fmt: skip
    _set_time(message, "window_end", window.window_end)
    return message


def inputs_logged_to_proto(logged: InputsLogged) -> production_pb2.InputsLogged:
    message = production_pb2.InputsLogged(
        stage=logged.stage, segment=logged.segment, version=version_name(logged.model, logged.number),
        max_psi=logged.max_psi, max_ks=logged.max_ks, worst_feature=logged.worst, features=logged.features,
    )  # fmt: skip
    _set_time(message, "window_end", logged.window_end)
    return message
