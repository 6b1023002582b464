"""Both clients offer one set of methods: every unary RPC once, from the same table, with one signature."""

from __future__ import annotations

import inspect

import pytest
from studbook.client import calls
from studbook.client.clients import AsyncClient, Client
from studbook.client.methods import UNARY_METHODS, Methods

ADDRESS = "unix:///nonexistent/studbook.sock"  # a channel connects lazily: nothing is dialled here
# Only the sync client walks pages, waits for a drop or a promotion, reads raw file streams and
# runs the maintenance streams: a script does these; the terminal UI never does.
SYNC_ONLY = {"iter_models", "iter_versions", "iter_drops", "wait_for_drop", "wait_for_promotion", "read_file",
             "export_audit_trail", "verify_artifacts", "backup"}  # fmt: skip


def _public(client: object) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(getattr(client, name))
        for name in dir(client)
        if not name.startswith("_") and callable(getattr(client, name))
    }


@pytest.fixture
def flavours() -> tuple[dict[str, inspect.Signature], dict[str, inspect.Signature]]:
    return _public(Client(ADDRESS, token="")), _public(AsyncClient(ADDRESS, token=""))


def test_both_flavours_expose_the_same_methods(flavours: tuple[dict, dict]) -> None:
    sync, asynchronous = flavours
    assert set(sync) - set(asynchronous) == SYNC_ONLY
    assert set(asynchronous) <= set(sync)


def test_a_method_has_the_same_parameters_in_both_flavours(flavours: tuple[dict, dict]) -> None:
    # The answers differ only in kind (a stream is an Iterator in one, an AsyncIterator in the other).
    sync, asynchronous = flavours
    differing = {name: (str(sync[name]), str(asynchronous[name])) for name in set(sync) & set(asynchronous)
                 if sync[name].parameters != asynchronous[name].parameters}  # fmt: skip
    assert differing == {}
    streams = {name for name in set(sync) & set(asynchronous)
               if sync[name].return_annotation != asynchronous[name].return_annotation}  # fmt: skip
    assert streams == {"watch"}


def test_every_table_method_is_sync_on_client_and_a_coroutine_on_async_client() -> None:
    sync, asynchronous = Client(ADDRESS, token=""), AsyncClient(ADDRESS, token="")
    assert len(UNARY_METHODS) > 30
    for name in UNARY_METHODS:
        assert not inspect.iscoroutinefunction(getattr(sync, name)), name
        assert inspect.iscoroutinefunction(getattr(asynchronous, name)), name


def test_a_table_method_takes_its_request_builders_parameters() -> None:
    # What a caller passes is what builds the request: no second list of parameters to drift.
    for name in UNARY_METHODS:
        build = vars(Methods)[name].build
        assert build.__module__ == calls.__name__
        expected = inspect.signature(build).replace(return_annotation=inspect.Signature.empty)
        assert inspect.signature(getattr(Client(ADDRESS, token=""), name)) == expected, name


def test_the_public_signatures_callers_rely_on_are_kept() -> None:
    client = Client(ADDRESS, token="")
    assert str(inspect.signature(client.archive_model)) == "(model: 'str', *, etag: 'str' = '')"
    assert str(inspect.signature(client.create_token)) == "(name: 'str', role: 'str | int', *, ttl_seconds: 'int' = 0)"
    assert str(inspect.signature(client.list_versions)).startswith("(model: 'str' = '-', *, filter: 'str' = ''")
    assert client.health.__doc__ == "The daemon's serving status, e.g. `SERVING`."


def test_every_service_the_calls_name_has_a_generated_stub() -> None:
    # Stubs are made on first use from STUB_CLASSES: a service missing there would fail only
    # when a user first calls it.
    import importlib

    from studbook.client.clients import STUB_CLASSES
    from studbook.v1 import registry_pb2

    services = {
        calls.get_model("m").service, calls.list_versions("m").service, calls.get_lineage("m@1").service,
        calls.get_promotion("m/1").service, calls.watch().service, calls.list_drops().service,
        calls.verify_audit_trail().service, calls.get_caller().service, calls.get_upload_offset("0" * 64, 1).service,
        calls.verify_artifacts().service, calls.plan_garbage_collection().service, calls.health().service,
        calls.list_hooks().service, calls.production_record("m@production").service,
        calls.register_version(registry_pb2.RegisterModelVersionRequest()).service,
    }  # fmt: skip
    assert services == set(STUB_CLASSES)
    for module, name in STUB_CLASSES.values():
        assert callable(getattr(importlib.import_module(module), name))
