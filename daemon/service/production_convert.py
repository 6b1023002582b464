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
    return production_pb2.ProductionRecord(
        model=f"models/{model}",
        stage=stage,
        holders=[
            production_pb2.HolderRecord(
                version=version_name(model, h.number),
                tenures=[tenure_to_proto(model, t) for t in h.tenures],
                series=[
                    production_pb2.ProductionSeries(
                        key=s.key,
                        segment=s.segment,
                        samples=[
                            production_pb2.ProductionSample(window_end=timestamp(end), value=value)
                            for end, value in s.samples
                        ],
                    )  # fmt: skip
                    for s in h.series
                ],
                evaluation=h.evaluation,
            )
            for h in holders
        ],
    )
