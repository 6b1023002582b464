"""Monitor states and rollback candidates in their v1 form."""

from __future__ import annotations

import math
from datetime import datetime

from studbook.daemon.domain.monitors import Basis, Candidate, Finding, MonitorStatus, Ranked, Stretch
from studbook.daemon.domain.names import model_name, version_name
from studbook.v1 import production_pb2

_BASIS = {
    Basis.NONE: production_pb2.CANDIDATE_BASIS_UNSPECIFIED,
    Basis.PRODUCTION: production_pb2.CANDIDATE_BASIS_PRODUCTION,
    Basis.EVALUATION: production_pb2.CANDIDATE_BASIS_EVALUATION,
}


def _stamp(message: object, field: str, value: datetime | None) -> None:
    if value is not None:
        getattr(message, field).FromDatetime(value)  # a naive time is UTC, as the catalog keeps it


def _name(model: str, number: int | None) -> str:
    return version_name(model, number) if number is not None else ""


def finding_to_proto(f: Finding) -> production_pb2.MonitorFinding:
    return production_pb2.MonitorFinding(rule=f.rule, subject=f.subject, observed=f.observed, threshold=f.threshold,
                                         breached=f.breached, windows_in_breach=f.windows_in_breach)  # fmt: skip


def tenure_to_proto(model: str, t: Stretch) -> production_pb2.Tenure:
    message = production_pb2.Tenure(promotion=t.promotion, rollback=t.rollback)
    _stamp(message, "start", t.start)
    _stamp(message, "end", t.end)
    return message


def ranked_to_proto(model: str, key: str, r: Ranked) -> production_pb2.RankedHolder:
    return production_pb2.RankedHolder(
        version=version_name(model, r.number), basis=_BASIS[r.basis], key=key,
        value=r.value if math.isfinite(r.value) else 0.0, tenures=[tenure_to_proto(model, t) for t in r.tenures],
    )  # fmt: skip


def candidate_to_proto(c: Candidate) -> production_pb2.RollbackCandidate:
    best = c.best
    return production_pb2.RollbackCandidate(
        model=model_name(c.model), stage=c.stage, holder=_name(c.model, c.holder),
        version=_name(c.model, best.number if best is not None else None),
        ranking=[ranked_to_proto(c.model, c.key, r) for r in c.ranking],
        rollback_brings_back=_name(c.model, c.rollback_brings_back), summary=c.summary,
    )  # fmt: skip


def monitor_state_to_proto(s: MonitorStatus) -> production_pb2.MonitorState:
    message = production_pb2.MonitorState(
        model=model_name(s.model), stage=s.stage, version=_name(s.model, s.number), breached=s.breached,
        revision=s.revision, findings=[finding_to_proto(f) for f in s.findings], auto_rollback=s.auto_rollback,
    )  # fmt: skip
    _stamp(message, "since", s.since)
    if s.candidate is not None:
        message.candidate.CopyFrom(candidate_to_proto(s.candidate))
    return message
