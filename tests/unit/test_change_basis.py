"""What a version's successor is judged against reads the same from its version.created event's
payload as from the version itself: a daemon taking another's registrations reads only the events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain import model as m
from studbook.daemon.domain.semver import ChangeBasis
from studbook.daemon.service.convert import change_basis_of_payload, encode_payload

names = st.text(min_size=1, max_size=12)
specs = st.builds(m.TensorSpec, names, st.sampled_from(["float32", "int64", "string", ""]),
                  st.lists(st.integers(-1, 4096), max_size=4).map(tuple), st.booleans())  # fmt: skip
signatures = st.builds(m.Signature, st.lists(specs, max_size=3).map(tuple), st.lists(specs, max_size=3).map(tuple))
datasets = st.builds(m.Dataset, names, st.text(max_size=12), st.text(max_size=20),
                     st.none() | st.integers(0, 2**62))  # fmt: skip
trainings = st.builds(m.TrainingConfig, st.none() | st.integers(-(2**63), 2**63 - 1),
                      st.dictionaries(names, st.text(max_size=12), max_size=3), st.text(max_size=12), st.booleans(),
                      st.text(max_size=12))  # fmt: skip


@given(
    number=st.integers(1, 2**31),
    semver=st.sampled_from(["1.0.0", "2.3.4", "10.0.999999"]),
    signature=signatures,
    data=st.lists(datasets, max_size=3),
    training=trainings,
)
def test_the_basis_in_the_payload_is_the_versions(
    number: int, semver: str, signature: m.Signature, data: list[m.Dataset], training: m.TrainingConfig
) -> None:
    version = m.ModelVersion(model="fraud", number=number, semver=semver, signature=signature, datasets=data,
                             training=training, params={"lr": "0.1"}, description="judged")  # fmt: skip

    assert change_basis_of_payload(encode_payload(version)) == ChangeBasis.of(version)
