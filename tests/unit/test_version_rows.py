"""A version's catalog row reads back as the version, whichever nested records it leaves at
their defaults (the row writer answers those from constants)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.model import (
    ChangeKind,
    Dataset,
    Environment,
    ModelVersion,
    ParentLink,
    Signature,
    TensorSpec,
    TrainingConfig,
)
from studbook.daemon.store.rows import version_from_row, version_row

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
mappings = st.dictionaries(text, text, max_size=2)
NOW = datetime(2026, 1, 1, tzinfo=UTC)

signatures = st.one_of(
    st.just(Signature()),
    st.builds(Signature, st.tuples(st.builds(TensorSpec, text, text, st.tuples(st.integers(0, 9))))),
)
environments = st.one_of(
    st.just(Environment()), st.builds(Environment, text, mappings, st.lists(text, max_size=2), text)
)
trainings = st.one_of(
    st.just(TrainingConfig()),
    st.builds(TrainingConfig, st.none() | st.integers(0, 2**31), mappings, text, st.booleans(), text),
)


@given(
    signature=signatures,
    environment=environments,
    training=trainings,
    tags=mappings,
    params=mappings,
    datasets=st.lists(st.builds(Dataset, text.filter(bool), text, text), max_size=1),
    parents=st.lists(st.builds(ParentLink, text.filter(bool), st.integers(1, 9)), max_size=1),
)
def test_a_version_row_reads_back_as_the_version(
    signature: Signature, environment: Environment, training: TrainingConfig, tags: dict[str, str],
    params: dict[str, str], datasets: list[Dataset], parents: list[ParentLink],
) -> None:  # fmt: skip
    version = ModelVersion(
        model="m", number=1, semver="1.0.0", change_kind=ChangeKind.INITIAL, tags=tags, params=params,
        signature=signature, environment=environment, training=training, datasets=datasets, parents=parents,
        create_time=NOW, update_time=NOW,
    )  # fmt: skip

    read = version_from_row(version_row(version))

    assert (read.signature, read.environment, read.training) == (signature, environment, training)
    assert (read.tags, read.params, read.datasets, read.parents) == (tags, params, datasets, parents)
