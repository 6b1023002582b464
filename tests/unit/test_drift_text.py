"""How input drift reads in a terminal: the watch line of a logged window and the drift table."""

from __future__ import annotations

from studbook.cli import views
from studbook.cli.drift_text import drift_table, worst_features
from studbook.cli.output import PLAIN
from studbook.v1 import events_pb2, production_pb2


def test_an_inputs_logged_event_line_names_the_stage_the_version_and_the_figures() -> None:
    event = events_pb2.Event(
        revision=7, type="production.inputs_logged", subject="models/fraud/stages/production", actor="serving",
        inputs_logged=production_pb2.InputsLogged(stage="production", version="models/fraud/versions/3", max_psi=0.25,
                                                  max_ks=0.125, worst_feature="age", features=40),
    )  # fmt: skip

    assert views.event_line(event).split() == ["#7", "production.inputs_logged", "fraud@production", "40", "features",
                                               "to", "fraud@3:", "max", "psi", "0.250,", "max", "ks", "0.125,",
                                               "worst", "age", "by", "serving"]  # fmt: skip


def window(*features: tuple[str, float, float, bool]) -> production_pb2.WindowDrift:
    found = production_pb2.WindowDrift(version="models/fraud/versions/3", features=[
        production_pb2.FeatureDrift(feature=f, psi=p, ks=k, no_reference=n) for f, p, k, n in features])  # fmt: skip
    found.window_end.seconds = 1_800_000_000
    found.max_psi = max((f[1] for f in features), default=0.0)
    return found


def test_the_worst_features_come_first_and_unreferenced_ones_are_counted() -> None:
    found = window(("a", 0.01, 0.1, False), ("b", 0.3, 0.2, False), ("c", 0, 0, True), ("d", 0.2, 0.05, False),
                   ("e", 0.1, 0.4, False))  # fmt: skip
    assert worst_features(found, PLAIN) == "b 0.300/0.20, d 0.200/0.05, e 0.100/0.40, 1 without reference"
    assert worst_features(window(("a", 0, 0, False)), PLAIN) == "-"


def test_the_table_has_a_row_per_window_and_says_when_there_is_none() -> None:
    rows = drift_table([window(("age", 0.3, 0.2, False)), window(("age", 0.0, 0.0, False))], PLAIN).splitlines()
    assert len(rows) == 3 and " v3 " in rows[1] and "0.300" in rows[1] and "age 0.300/0.20" in rows[1]
    assert "no input windows" in drift_table([], PLAIN)
