"""Tenures and production records in their v1 form."""

from __future__ import annotations

from studbook.daemon.app.production import HolderRecord
from studbook.daemon.app.tenures import Tenure
from studbook.daemon.domain.names import version_name
from studbook.daemon.service.convert import timestamp
from studbook.v1 import production_pb2


def tenure_to_proto(model: str, tenure: Tenure) -> production_pb2.Tenure:
    return production_pb2.Tenure(
        start=timestamp(tenure.start),
        end=timestamp(tenure.end),
        promotion=f"models/{model}/promotions/{tenure.promotion_id}" if tenure.promotion_id else "",
        rollback=tenure.rollback,
    )


def record_to_proto(model: str, stage: str, holders: list[HolderRecord]) -> production_pb2.ProductionRecord:
    message = production_pb2.ProductionRecord(model=f"models/{model}", stage=stage)
    for h in holders:
        holder = message.holders.add(version=version_name(model, h.number), evaluation=h.evaluation)
        holder.tenures.extend(tenure_to_proto(model, t) for t in h.tenures)
        for s in h.series:
            series = holder.series.add(key=s.key, segment=s.segment)
            _add_samples(series, s.samples)
    return message


def _add_samples(series: production_pb2.ProductionSeries, samples: list[tuple[int, float]]) -> None:
    """Each sample set field by field, its time from whole microseconds: a quarter of the time of
    building each message and its Timestamp whole and copying them in (measured here: 31 ms
    against 120 ms for 9,600)."""
    add = series.samples.add
    for end_us, value in samples:
        stamp = add(value=value).window_end
        stamp.seconds, micros = divmod(end_us, 1_000_000)
        stamp.nanos = micros * 1000
