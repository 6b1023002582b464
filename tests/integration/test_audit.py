"""The audit trail: every change is chained by hash; an edited or deleted record is named."""

from __future__ import annotations

import duckdb
import grpc
from studbook.daemon.domain.audit import HighWaterMark
from studbook.daemon.store.catalog import settle_file
from studbook.daemon.store.mark import MarkFile
from studbook.v1 import audit_pb2, audit_pb2_grpc, registry_pb2, stages_pb2
from support.rpc import register, stubs


def verify(daemon):  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        return audit_pb2_grpc.AuditServiceStub(channel).VerifyAuditTrail(audit_pb2.VerifyAuditTrailRequest())


def make_history(daemon) -> None:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        api = stubs(channel)
        for i in range(3):
            register(api, "fraud", storage_uri=f"s3://b/{i}")
        api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
            name="models/fraud/versions/2", target="production", reason="best auc"))  # fmt: skip


def tamper(daemon_factory, daemon, sql: str):  # type: ignore[no-untyped-def]
    """Edits the catalog behind the daemon's back, then starts it again. What the killed daemon
    left staged is settled first, as its start would, so that `sql` finds every event."""
    daemon.kill()
    settle_file(daemon.data_dir / "catalog.duckdb")
    conn = duckdb.connect(str(daemon.data_dir / "catalog.duckdb"))
    conn.execute(sql)
    conn.close()
    return daemon_factory()


def test_an_untouched_trail_verifies(daemon):
    make_history(daemon)

    verdict = verify(daemon)

    assert verdict.intact and verdict.checked == 5 and len(verdict.head) == 64


def test_an_edited_record_is_named(daemon_factory):
    daemon = daemon_factory()
    make_history(daemon)

    restarted = tamper(daemon_factory, daemon, "UPDATE events SET actor = 'mallory' WHERE revision = 3")
    verdict = verify(restarted)

    assert not verdict.intact
    assert verdict.broken_revision == 3 and "edited" in verdict.problem
    assert verdict.checked == 2


def test_a_deleted_record_is_named(daemon_factory):
    daemon = daemon_factory()
    make_history(daemon)

    restarted = tamper(daemon_factory, daemon, "DELETE FROM events WHERE revision = 4")
    verdict = verify(restarted)

    assert verdict.broken_revision == 4 and "missing" in verdict.problem


def mark_instead(daemon, mark: HighWaterMark) -> None:  # type: ignore[no-untyped-def]
    """Puts another high-water mark in place while the daemon runs: what it would find had the
    catalog lost or rewritten records after they were acknowledged."""
    path = daemon.data_dir / "catalog.hwm"
    path.unlink()
    MarkFile(path).write(mark)


def test_verify_names_acknowledged_records_the_trail_no_longer_holds(daemon):
    make_history(daemon)
    mark_instead(daemon, HighWaterMark(9, "f" * 64))

    verdict = verify(daemon)

    assert not verdict.intact
    assert verdict.broken_revision == 6 and verdict.checked == 5
    assert "high-water mark" in verdict.problem and "revision 9 was acknowledged" in verdict.problem


def test_verify_names_a_trail_rewritten_under_its_mark(daemon):
    make_history(daemon)
    mark_instead(daemon, HighWaterMark(5, "f" * 64))

    verdict = verify(daemon)

    assert verdict.broken_revision == 5 and "not the one acknowledged" in verdict.problem


def test_export_streams_every_record_with_its_hash(daemon):
    make_history(daemon)

    with daemon.channel() as channel:
        records = list(audit_pb2_grpc.AuditServiceStub(channel).ExportAuditTrail(
            audit_pb2.ExportAuditTrailRequest(start_revision=2)))  # fmt: skip

    assert [r.event.revision for r in records] == [3, 4, 5]
    assert records[-1].event.type == "stage.changed" and records[-1].event.promotion.reason == "best auc"
    assert records[-1].chain_hash == verify(daemon).head


def test_a_negative_start_is_refused(daemon):
    with daemon.channel() as channel:
        stream = audit_pb2_grpc.AuditServiceStub(channel).ExportAuditTrail(
            audit_pb2.ExportAuditTrailRequest(start_revision=-1)
        )
        try:
            list(stream)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        else:
            raise AssertionError("a negative start_revision was accepted")


def test_events_from_before_the_chain_get_hashes_at_start_up(daemon_factory):
    daemon = daemon_factory()
    make_history(daemon)

    restarted = tamper(daemon_factory, daemon, "UPDATE events SET chain_hash = ''")  # as after migration 2
    verdict = verify(restarted)

    assert verdict.intact and verdict.checked == 5


def test_a_catalog_from_before_roles_upgrades_and_its_trail_still_verifies(daemon_factory):
    daemon = daemon_factory()
    make_history(daemon)
    as_before_roles = (
        "UPDATE events SET chain_hash = ''; ALTER TABLE events DROP COLUMN role; DROP TABLE tokens; "
        "UPDATE meta SET value = '3' WHERE key = 'schema_version'"
    )

    restarted = tamper(daemon_factory, daemon, as_before_roles)
    with restarted.channel() as channel:
        stubs(channel).models.CreateModel(registry_pb2.CreateModelRequest(model_id="after-roles"))
    verdict = verify(restarted)

    assert verdict.intact and verdict.checked == 6


def test_the_cli_verifies_and_exports(daemon_factory, capsys):
    import json

    from studbook.cli import commands as cli

    daemon = daemon_factory()
    make_history(daemon)

    assert cli.main(["--address", daemon.address, "audit", "verify"]) == 0
    assert "intact: 5 records" in capsys.readouterr().out
    assert cli.main(["--address", daemon.address, "audit", "export", "--from", "3"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["event"]["revision"] for line in lines] == [4, 5]

    tampered = tamper(daemon_factory, daemon, "UPDATE events SET subject = 'models/x' WHERE revision = 2")
    assert cli.main(["--address", tampered.address, "audit", "verify"]) == 4
    assert "BROKEN at revision 2" in capsys.readouterr().out
