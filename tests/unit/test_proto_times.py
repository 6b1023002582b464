"""Times cross into protobuf as the instant they are, whatever their zone, to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.model import Metric
from studbook.daemon.service.convert import from_timestamp, metric_to_proto, timestamp

zones = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones)


@given(moments)
def test_a_time_becomes_the_timestamp_protobuf_itself_makes(moment: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(moment.astimezone(UTC))

    assert timestamp(moment) == expected
    assert from_timestamp(expected) == moment


@given(moments)
def test_a_metric_carries_its_time_as_that_instant(moment: datetime) -> None:
    message = metric_to_proto(Metric(key="auc", value=0.5, time=moment))

    assert message.HasField("time")
    assert from_timestamp(message.time) == moment


def test_no_time_is_no_timestamp() -> None:
    assert timestamp(None) is None
    assert not metric_to_proto(Metric(key="auc", value=0.5)).HasField("time")
