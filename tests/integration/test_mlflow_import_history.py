"""A metric history longer than one call carries arrives whole: the importer, given any source
behind the `Source` interface, registers the first points and logs the rest."""

from __future__ import annotations

from pathlib import Path

from studbook.cli.importers.mlflow_import import MlflowImport
from studbook.cli.importers.mlflow_source import (
    ArtifactsUnavailable,
    MetricPoint,
    SourceModel,
    SourceRun,
    SourceVersion,
)
from studbook.client import Client

POINTS = 23_456


class OneLongRun:
    """A registry holding one version whose run logged a long loss curve; its files out of reach."""

    label = "memory"

    def models(self) -> list[SourceModel]:
        version = SourceVersion("curves", 1, creation_ms=1_700_000_000_000, run_id="r1", source="s3://b/curves")
        return [SourceModel("curves", versions=[version])]

    def run(self, run_id: str) -> SourceRun | None:
        points = [MetricPoint("loss", 1.0 / (step + 1), step, 1_700_000_000_000 + step) for step in range(POINTS)]
        return SourceRun(run_id, metrics=[*points, MetricPoint("auc", 0.9, 0, 1_700_000_000_000)])

    def fetch_artifacts(self, version: SourceVersion, scratch: Path) -> Path:
        raise ArtifactsUnavailable("its files are at s3://b/curves")

    def close(self) -> None:
        return None


def test_every_point_of_a_long_history_arrives(daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Client(daemon.address) as client:
        report = MlflowImport(OneLongRun(), client, scratch=tmp_path).run()
        loss = client.list_metrics("curves@1", key="loss")
        version = client.get_version("curves", 1)

    assert [(i.kind, i.outcome) for i in report.items if i.kind == "version"] == [("version", "imported")]
    assert [m.step for m in loss] == list(range(POINTS))
    assert {m.key: m.value for m in version.metrics} == {"loss": 1.0 / POINTS, "auc": 0.9}
