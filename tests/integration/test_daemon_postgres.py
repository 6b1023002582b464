"""A daemon whose catalog is in PostgreSQL (`--catalog postgresql://...`), over real gRPC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from studbook.v1 import registry_pb2, resources_pb2, stages_pb2
from support.net import free_port
from support.postgres import PostgresDatabase
from support.rpc import error_info, register, stubs


def test_create_register_get_search_and_promote_keep_their_records_in_postgresql(
    daemon_factory, short_dir: Path, postgres_catalog: PostgresDatabase
) -> None:
    first = daemon_factory("--catalog", postgres_catalog.url)
    with first.channel() as channel:
        api = stubs(channel)
        api.models.CreateModel(registry_pb2.CreateModelRequest(model_id="fraud", model=resources_pb2.Model(
            description="fraud scores", tags={"team": "risk"})))  # fmt: skip
        register(api, "fraud", description="first", tags={"data": "2026-01"})
        second = register(api, "fraud", description="second", tags={"data": "2026-02"})
        found = api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=second.name))
        searched = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
            parent="models/fraud", filter='tags.data = "2026-02"'))  # fmt: skip
        promotion = api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
            name=second.name, target="production", reason="beats the first"))  # fmt: skip

    assert found.description == "second" and dict(found.tags) == {"data": "2026-02"}
    assert [v.name for v in searched.versions] == [second.name]
    assert promotion.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert "catalog postgresql://" in first.output()
    assert not (first.data_dir / "catalog.duckdb").exists(), "the catalog is in PostgreSQL, not the data dir"

    # Another daemon, with a data dir of its own, serves the same catalog: the records are there.
    with postgres_catalog.connect() as conn:
        models = [row[0] for row in conn.execute("SELECT name FROM models").fetchall()]
    assert models == ["fraud"]
    again = daemon_factory("--catalog", postgres_catalog.url, data_dir=short_dir / "other")
    with again.channel() as channel:
        api = stubs(channel)
        model = api.models.GetModel(registry_pb2.GetModelRequest(name="models/fraud"))
        third = register(api, "fraud", description="third")
        with pytest.raises(grpc.RpcError) as raised:
            api.models.CreateModel(registry_pb2.CreateModelRequest(model_id="fraud"))

    assert dict(model.stage_holders) == {"production": second.name}
    assert (model.description, dict(model.tags)) == ("fraud scores", {"team": "risk"})
    assert third.name == "models/fraud/versions/3"
    assert error_info(raised.value).reason == "MODEL_EXISTS"


def test_a_catalog_url_whose_server_is_not_there_refuses_the_start_and_says_why(short_dir: Path) -> None:
    url = f"postgresql://studbook:hunter2@127.0.0.1:{free_port()}/studbook"

    refused = subprocess.run(
        [sys.executable, "-m", "studbook.daemon", "--data-dir", str(short_dir / "data"),
         "--socket", str(short_dir / "s.sock"), "--catalog", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert refused.returncode != 0
    assert "PostgreSQL is unreachable" in refused.stderr
    assert "hunter2" not in refused.stderr + refused.stdout


def test_a_catalog_that_is_no_postgresql_url_is_refused_by_the_command_line(short_dir: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "studbook.daemon", "--data-dir", str(short_dir / "data"),
         "--socket", str(short_dir / "s.sock"), "--catalog", "mysql://db/studbook"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert refused.returncode == 2
    assert "--catalog: takes a postgresql:// URL" in refused.stderr


def test_a_catalog_behind_what_this_data_dir_acknowledged_is_refused(
    daemon_factory, short_dir: Path, postgres_catalog: PostgresDatabase, postgres_server
) -> None:
    from support.postgres import TEMPLATE

    first = daemon_factory("--catalog", postgres_catalog.url)
    with first.channel() as channel:
        register(stubs(channel), "fraud")
    first.kill(15)
    empty = postgres_server.create_database(template=TEMPLATE)  # as if restored from an older dump
    try:
        refused = subprocess.run(
            [sys.executable, "-m", "studbook.daemon", "--data-dir", str(first.data_dir),
             "--socket", str(first.socket), "--catalog", empty.url],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        postgres_server.drop_database(empty.name)

    assert refused.returncode != 0
    assert "the catalog ends at revision 0 but revision 2 was acknowledged" in refused.stderr
    assert "move postgres.hwm aside" in refused.stderr
    again = daemon_factory("--catalog", postgres_catalog.url)  # the catalog it served opens as before
    with again.channel() as channel:
        assert register(stubs(channel), "fraud").name == "models/fraud/versions/2"
