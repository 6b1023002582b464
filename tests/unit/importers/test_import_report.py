"""The import's summary: counts per kind and outcome, every item not simply imported with why."""

from __future__ import annotations

from studbook.cli.importers.import_report import ImportReport, report_text


def test_the_summary_counts_and_lists_what_was_not_simply_imported() -> None:
    report = ImportReport("sqlite:///mlflow.db", dry_run=False)
    report.add("model", "fraud", "imported", source="Fraud")
    report.add("version", "fraud@1", "imported", source="Fraud/1")
    report.add("version", "fraud@2", "skipped", "already imported", "Fraud/2")
    report.add("alias", "fraud@Prod", "skipped", "not a studbook alias name", "Prod")

    text = report_text(report)

    assert text.splitlines()[:4] == ["MLflow import from sqlite:///mlflow.db", "  models    1 imported",
                                     "  versions  1 imported, 1 skipped", "  aliases   1 skipped"]  # fmt: skip
    assert "  skipped      version fraud@2 (MLflow: Fraud/2): already imported" in text
    assert "fraud@1" not in text
    assert report.data()["counts"] == {"model": {"imported": 1}, "version": {"imported": 1, "skipped": 1},
                                       "alias": {"skipped": 1}}  # fmt: skip


def test_a_dry_run_says_so_first() -> None:
    assert report_text(ImportReport("x", dry_run=True)).startswith("dry run: nothing was changed; ")


def test_what_the_source_wrote_is_escaped() -> None:
    report = ImportReport("sqlite:///mlflow.db", dry_run=False)
    report.add("model", "m", "skipped", "why \x1b]52;c;evil\x07", "name\u202e")

    assert "\x1b" not in report_text(report) and "\u202e" not in report_text(report)
