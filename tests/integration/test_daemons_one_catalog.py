"""Several daemons on one PostgreSQL catalog, each with its own data dir, over real gRPC.

Every daemon decides writes from in-memory state (models, version facts, promotion ids, the
audit chain's head, the revision). These tests race writers through two daemons at once and
check what only a correct reload of that state gives: no number handed out twice, one holder
per stage, stale etags refused, one unbroken audit chain, and nothing acknowledged lost when
a daemon is killed mid-write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import Daemon, start_daemon, stop_daemon
from studbook.cli import commands as cli
from studbook.daemon.app.state import WriterState
from studbook.daemon.store.interface import StoreTransaction
from studbook.daemon.store.postgres.catalog import CHANGES_READ_WITH_LOCK, PostgresCatalog
from studbook.daemon.store.records import CatalogMovedOn
from studbook.v1 import drops_pb2, drops_pb2_grpc, registry_pb2, resources_pb2, stages_pb2
from support.postgres import PostgresDatabase
from support.rpc import Stubs, error_info, register, stubs
from support.waiting import wait_for

WRITERS = 16  # concurrent writers per daemon
RPC_TIMEOUT = 60.0


@pytest.fixture
def two_daemons(short_dir: Path, postgres_catalog: PostgresDatabase) -> Iterator[list[Daemon]]:
    started = [
        start_daemon(short_dir / f"{name}-data", short_dir / f"{name}.sock", "--catalog", postgres_catalog.url)
        for name in ("a", "b")
    ]
    yield started
    for daemon in started:
        if daemon.process.poll() is None:
            stop_daemon(daemon)


def race(daemons: list[Daemon], work: Callable[[Stubs, int], Any]) -> list[Any]:
    """Runs `work(stubs, i)` for WRITERS writers per daemon, all at once; their results."""
    channels = [d.channel() for d in daemons]
    apis = [stubs(c) for c in channels]
    start = threading.Barrier(WRITERS * len(daemons))

    def run(index: int) -> Any:
        start.wait(30)
        return work(apis[index % len(apis)], index)

    try:
        with ThreadPoolExecutor(WRITERS * len(daemons)) as pool:
            return list(pool.map(run, range(WRITERS * len(daemons))))
    finally:
        for channel in channels:
            channel.close()


def create_model(daemon: Daemon, model: str) -> None:
    with daemon.channel() as channel:
        stubs(channel).models.CreateModel(registry_pb2.CreateModelRequest(model_id=model), timeout=RPC_TIMEOUT)


def test_concurrent_registrations_through_two_daemons_never_share_a_number(
    two_daemons: list[Daemon], postgres_catalog: PostgresDatabase
) -> None:
    create_model(two_daemons[0], "fraud")

    def register_some(api: Stubs, index: int) -> list[str]:
        return [register(api, "fraud", description=f"w{index}-{n}", request_id=f"w{index}-{n}",
                         timeout=RPC_TIMEOUT).name for n in range(4)]  # fmt: skip

    names = [name for found in race(two_daemons, register_some) for name in found]

    numbers = sorted(int(name.rsplit("/", 1)[1]) for name in names)
    assert numbers == list(range(1, len(names) + 1)), "every registration got its own number, none skipped"
    with postgres_catalog.connect() as conn:
        stored = conn.execute("SELECT number, description FROM versions WHERE model = 'fraud'").fetchall()
        revisions = [r[0] for r in conn.execute("SELECT revision FROM events ORDER BY revision").fetchall()]
    assert sorted(n for n, _ in stored) == numbers
    assert len({d for _, d in stored}) == len(stored)
    assert revisions == list(range(1, len(revisions) + 1)), "revisions are gapless across daemons"

    # A retried request id is recognised by the other daemon as the same registration.
    with two_daemons[1].channel() as channel:
        again = register(stubs(channel), "fraud", description="w0-0", request_id="w0-0")
    assert again.name in names and again.description == "w0-0"

    # Each daemon counted the other's versions into the model's figures as it took its commits:
    # its next registration answers for the model with all of them.
    for daemon in (two_daemons[0], two_daemons[1], two_daemons[0]):
        with daemon.channel() as channel:
            api = stubs(channel)
            latest = register(api, "fraud", timeout=RPC_TIMEOUT)
            model = api.models.GetModel(registry_pb2.GetModelRequest(name="models/fraud"), timeout=RPC_TIMEOUT)
        assert (model.version_count, model.latest_version) == (latest.number, latest.number)


def test_each_daemon_counts_every_version_once_into_the_models_it_reads_out(two_daemons: list[Daemon]) -> None:
    """A daemon's reads take the other daemon's registrations from their events, counted onto
    the models they hold, and its own from its writer, whose records already count those of the
    other's commits it took first; a model read again from the catalog may count some already.
    Whichever comes first, each version counts once."""
    create_model(two_daemons[0], "fraud")
    create_model(two_daemons[1], "churn")

    def register_some(api: Stubs, index: int) -> None:
        for n in range(4):
            model = ("fraud", "churn")[n % 2]
            register(api, model, request_id=f"w{index}-{n}", timeout=RPC_TIMEOUT)
            # A change other than a registration has the other daemon read the model again,
            # and a read may hold registrations committed after it that it has yet to take.
            api.models.UpdateModel(registry_pb2.UpdateModelRequest(
                model=resources_pb2.Model(name=f"models/{model}", description=f"w{index}-{n}"),
                update_mask={"paths": ["description"]}), timeout=RPC_TIMEOUT)  # fmt: skip

    race(two_daemons, register_some)

    each = WRITERS * len(two_daemons) * 2
    for daemon in two_daemons:
        with daemon.channel() as channel:
            api = stubs(channel)

            def figures(api: Stubs = api) -> list[tuple[int, int]] | None:
                found = [
                    api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{name}"))
                    for name in ("fraud", "churn")
                ]
                counted = [(m.version_count, m.latest_version) for m in found]
                return counted if counted == [(each, each)] * 2 else None

            wait_for(figures, f"{daemon.address} to count {each} versions into each model")


def test_a_daemon_that_took_the_others_commits_holds_what_a_fresh_start_reads(
    two_daemons: list[Daemon], short_dir: Path, postgres_catalog: PostgresDatabase
) -> None:
    """Daemon b takes a's commits at each of its own writes: registrations alone (whose models'
    figures it counts from the events), and model changes, archives and new models (which it
    reads again). Whatever the mix, b then decides and answers as a daemon started afresh does."""
    a, b = (stubs(d.channel()) for d in two_daemons)
    steps: list[Callable[[], object]] = [
        lambda: [register(a, "m1"), register(a, "m1"), register(a, "m2")],
        lambda: register(a, "m1", request_id="r-1"),
        lambda: a.models.UpdateModel(
            registry_pb2.UpdateModelRequest(model=resources_pb2.Model(name="models/m2", description="changed on a"))
        ),  # fmt: skip
        lambda: a.versions.ArchiveModelVersion(registry_pb2.ArchiveModelVersionRequest(name="models/m1/versions/1")),
        lambda: [register(a, "m1"), register(a, "m3")],
    ]
    for step in steps:
        step()
        register(b, "probe", timeout=RPC_TIMEOUT)  # b's writer takes a's commits before it writes

    assert register(b, "m1", request_id="r-1").number == 3, "a's request id is known to b"
    next_numbers = {model: register(b, model).number for model in ("m1", "m2", "m3")}
    assert next_numbers == {"m1": 5, "m2": 2, "m3": 2}
    fresh = start_daemon(short_dir / "c-data", short_dir / "c.sock", "--catalog", postgres_catalog.url)
    try:
        with fresh.channel() as channel:
            c = stubs(channel)
            for model in ("m1", "m2", "m3"):
                held, read = (api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}"))
                              for api in (b, c))  # fmt: skip
                assert (held.version_count, held.latest_version, held.description) == (
                    read.version_count, read.latest_version, read.description)  # fmt: skip
    finally:
        stop_daemon(fresh)


def test_a_daemon_starting_while_the_other_registers_counts_each_version_once(
    short_dir: Path, postgres_catalog: PostgresDatabase
) -> None:
    """A daemon starting reads the catalog's revision, then the rest of its state: a version the
    other daemon registers in between is in the model's figures already when its writer takes
    that commit, and is not counted a second time. Started here in-process, to register in
    between."""
    other = start_daemon(short_dir / "other-data", short_dir / "other.sock", "--catalog", postgres_catalog.url)
    api = stubs(other.channel())
    register(api, "m")
    catalog = PostgresCatalog(postgres_catalog.url)

    class RegistersWhileLoading:
        def __getattr__(self, name: str) -> Any:
            return getattr(catalog, name)

        def max_promotion_id(self) -> int:
            register(api, "m")
            return catalog.max_promotion_id()

    def takes_the_other_daemons_commits(state: WriterState) -> StoreTransaction:
        tx = catalog.transaction()
        with pytest.raises(CatalogMovedOn) as moved:
            tx.begin()  # as the writer's groups do, holding the write lock from here
        changes = moved.value.changes
        # What the catalog read with the lock is from its own last look, as the writer takes it.
        if changes is not None and changes.revision == state.revision:
            chained, facts = changes.events, changes.facts
        else:
            chained, facts = catalog.chained_events_after(state.revision, 1_000), None
        assert state.refresh(catalog, [event for event, _ in chained], chained[-1][1], facts=facts)
        state.models.read_through(tx)
        return tx

    try:
        state = WriterState.load(RegistersWhileLoading())  # type: ignore[arg-type]
        tx = takes_the_other_daemons_commits(state)
        first = state.models["m"]
        first_figures = (first.version_count, first.latest_version)
        tx.rollback()
        # The record is held now: the next registration is counted onto it from its event, once.
        register(api, "m")
        tx = takes_the_other_daemons_commits(state)
        held = state.models["m"]
        (read,) = tx.load_models(["m"])
        tx.rollback()
    finally:
        catalog.close()
        stop_daemon(other)

    assert first_figures == (2, 2)
    assert held is first
    assert (held.version_count, held.latest_version) == (read.version_count, read.latest_version) == (3, 3)


def test_a_daemon_judges_its_next_version_against_the_latest_the_other_daemon_registered(
    two_daemons: list[Daemon],
) -> None:
    """Change kinds and semvers are derived from the model's latest version, wherever it was
    registered: b holds what it judges m against since its own v1, and takes a's v2 (new data)
    and v4 (a signature) as its new latest, from the events it reads under the write lock."""
    a, b = (stubs(d.channel()) for d in two_daemons)

    def training(data: str) -> resources_pb2.TrainingConfig:
        return resources_pb2.TrainingConfig(data_versions={"transactions": data})

    def signature(dtype: str) -> resources_pb2.Signature:
        return resources_pb2.Signature(inputs=[resources_pb2.TensorSpec(name="x", dtype=dtype, shape=[-1, 4])])

    made = [
        register(b, "m", training=training("2026-01")),
        register(a, "m", training=training("2026-02")),
        register(b, "m", training=training("2026-02")),  # the data of v2, not of v1
        register(a, "m", training=training("2026-02"), signature=signature("float32")),
        register(b, "m", training=training("2026-02"), signature=signature("string")),  # v4 had float32 x
    ]

    assert [(v.number, v.semver, resources_pb2.ChangeKind.Name(v.change_kind)) for v in made] == [
        (1, "1.0.0", "CHANGE_KIND_INITIAL"),
        (2, "1.1.0", "CHANGE_KIND_DATA"),
        (3, "1.1.1", "CHANGE_KIND_TUNING"),
        (4, "1.1.2", "CHANGE_KIND_TUNING"),
        (5, "2.0.0", "CHANGE_KIND_SCHEMA"),
    ]


def test_retries_through_the_other_daemon_return_the_first_result(two_daemons: list[Daemon]) -> None:
    """Request ids decide across daemons: a model, a version and a promotion made through one
    and retried through the other are the same, however the other's state was refreshed."""
    first, second = (stubs(d.channel()) for d in two_daemons)

    def create(api: Stubs) -> resources_pb2.Model:
        return api.models.CreateModel(registry_pb2.CreateModelRequest(model_id="ltv", request_id="create-ltv"),
                                      timeout=RPC_TIMEOUT)  # fmt: skip

    def promote(api: Stubs) -> stages_pb2.Promotion:
        return api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
            name="models/ltv/versions/1", target="staging", reason="try", request_id="promote-1"),
            timeout=RPC_TIMEOUT)  # fmt: skip

    made = create(first)
    register(second, "ltv", description="on b")  # the second daemon's state now knows the model
    version = register(first, "ltv", description="one", request_id="v-1")
    promoted = promote(first)
    register(first, "ltv", description="two")

    assert create(second).name == made.name
    assert register(second, "ltv", description="one", request_id="v-1").name == version.name
    assert promote(second).name == promoted.name
    assert register(second, "ltv", description="three").name == "models/ltv/versions/4"


@pytest.mark.parametrize("count", [3, CHANGES_READ_WITH_LOCK + 10])
def test_a_daemon_takes_the_others_registrations_however_many_came_since_its_last_write(
    two_daemons: list[Daemon], count: int
) -> None:
    """What a daemon's writer takes of the other's commits comes with its write lock when they
    are few, and is read on its own when they are more: either way it knows each new version's
    request id and number before it writes again."""
    first, second = (stubs(d.channel()) for d in two_daemons)
    register(second, "bulk", description="on b")  # the second daemon holds the model's facts
    requests = [registry_pb2.RegisterModelVersionRequest(
        parent="models/bulk", request_id=f"bulk-{i}",
        version=resources_pb2.ModelVersion(description=f"a {i}", storage_uri=f"s3://bucket/bulk/{i}"))
        for i in range(count)]  # fmt: skip
    made = first.versions.RegisterModelVersions(registry_pb2.RegisterModelVersionsRequest(requests=requests),
                                                timeout=RPC_TIMEOUT).results  # fmt: skip

    retried = register(second, "bulk", description=f"a {count - 1}", request_id=f"bulk-{count - 1}")
    after = register(second, "bulk", description="b again")

    assert retried.name == made[-1].registered.version.name == f"models/bulk/versions/{count + 1}"
    assert after.number == count + 2
    assert cli.main(["--address", two_daemons[1].address, "audit", "verify"]) == 0


def test_racing_promotions_through_two_daemons_leave_one_holder_and_one_audit_chain(
    two_daemons: list[Daemon], postgres_catalog: PostgresDatabase
) -> None:
    create_model(two_daemons[0], "churn")
    with two_daemons[0].channel() as channel:
        versions = [register(stubs(channel), "churn", description=str(i)).name for i in range(WRITERS * 2)]

    def promote(api: Stubs, index: int) -> str:
        reply = api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
            name=versions[index], target="production", reason=f"race {index}"), timeout=RPC_TIMEOUT)  # fmt: skip
        return str(reply.state)

    states = race(two_daemons, promote)

    assert set(states) == {str(stages_pb2.PROMOTION_STATE_APPLIED)}
    with postgres_catalog.connect() as conn:
        holders = conn.execute(
            "SELECT number FROM stage_holders WHERE model = 'churn' AND label = 'production'"
        ).fetchall()
        last = conn.execute(
            "SELECT number FROM stage_history WHERE model = 'churn' AND label = 'production' "
            "ORDER BY revision DESC LIMIT 1"
        ).fetchone()
    assert len(holders) == 1, f"exactly one holder of production, found {holders}"
    assert last is not None and holders[0][0] == last[0], "the holder is the last promotion applied"
    for daemon in two_daemons:
        assert cli.main(["--address", daemon.address, "audit", "verify"]) == 0


def test_a_stale_etag_is_refused_whichever_daemon_changed_the_version(two_daemons: list[Daemon]) -> None:
    create_model(two_daemons[0], "ads")
    first, second = (stubs(d.channel()) for d in two_daemons)
    created = register(first, "ads", description="one")
    seen = first.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=created.name))

    def update(api: Stubs, description: str, etag: str) -> resources_pb2.ModelVersion:
        return api.versions.UpdateModelVersion(registry_pb2.UpdateModelVersionRequest(
            version=resources_pb2.ModelVersion(name=created.name, description=description, etag=etag),
            update_mask={"paths": ["description"]}), timeout=RPC_TIMEOUT)  # fmt: skip

    changed = update(second, "two", seen.etag)
    with pytest.raises(grpc.RpcError) as raised:
        update(first, "three", seen.etag)

    assert changed.description == "two" and changed.etag != seen.etag
    assert raised.value.code() == grpc.StatusCode.ABORTED
    assert error_info(raised.value).reason == "STALE_ETAG"


def test_killing_one_daemon_mid_write_loses_nothing_it_acknowledged(
    two_daemons: list[Daemon], postgres_catalog: PostgresDatabase
) -> None:
    doomed, survivor = two_daemons
    create_model(doomed, "risk")
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()
    stop = threading.Event()

    def write_until_killed(api: Stubs, index: int) -> int:
        refused = 0
        for n in range(200):
            if stop.is_set():
                break
            try:
                name = register(api, "risk", description=f"{index}-{n}", request_id=f"{index}-{n}",
                                timeout=RPC_TIMEOUT).name  # fmt: skip
            except grpc.RpcError:
                refused += 1
                if index % 2 == 0:
                    break  # the killed daemon's writers stop; the survivor's go on
                continue
            with lock:
                acknowledged.append(name)
                if len(acknowledged) >= 60:
                    enough.set()
        return refused

    def kill_when_enough() -> None:
        enough.wait(120)
        doomed.kill()
        stop.set()

    killer = threading.Thread(target=kill_when_enough)
    killer.start()
    try:
        race(two_daemons, write_until_killed)
    finally:
        stop.set()
        enough.set()
        killer.join()

    assert doomed.process.returncode == -9
    numbers = [int(name.rsplit("/", 1)[1]) for name in acknowledged]
    assert len(set(numbers)) == len(numbers)
    with survivor.channel() as channel:
        api = stubs(channel)
        for name in acknowledged:
            api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=name), timeout=RPC_TIMEOUT)
        after = register(api, "risk", description="after the kill")
    with postgres_catalog.connect() as conn:
        stored = {r[0] for r in conn.execute("SELECT number FROM versions WHERE model = 'risk'").fetchall()}
    assert set(numbers) <= stored
    assert int(after.name.rsplit("/", 1)[1]) == max(stored)
    assert cli.main(["--address", survivor.address, "audit", "verify"]) == 0


def test_a_model_deleted_through_one_daemon_is_gone_for_the_others_writes(two_daemons: list[Daemon]) -> None:
    first, second = (stubs(d.channel()) for d in two_daemons)
    first.models.CreateModel(registry_pb2.CreateModelRequest(model_id="old", request_id="create-old"))
    register(second, "old", description="v1")  # the second daemon's state holds the model

    first.models.DeleteModel(registry_pb2.DeleteModelRequest(name="models/old", force=True), timeout=RPC_TIMEOUT)
    # A registration creates its model when missing: anew, numbered from 1, with no trace of the old one.
    again = register(second, "old", description="after the delete", request_id="v1-again")
    model = second.models.GetModel(registry_pb2.GetModelRequest(name="models/old"), timeout=RPC_TIMEOUT)
    with pytest.raises(grpc.RpcError) as exists:
        second.models.CreateModel(registry_pb2.CreateModelRequest(model_id="old"), timeout=RPC_TIMEOUT)

    assert again.name == "models/old/versions/1"
    assert (model.version_count, model.latest_version) == (1, 1)
    assert error_info(exists.value).reason == "MODEL_EXISTS"


def test_two_daemons_watching_one_shared_folder_register_each_drop_once(
    short_dir: Path, postgres_catalog: PostgresDatabase
) -> None:
    root, store = short_dir / "drops", (short_dir / "blobs").as_uri()
    (root / "fraud").mkdir(parents=True)
    daemons = [start_daemon(short_dir / name, short_dir / f"{name}.sock", "--catalog", postgres_catalog.url,
                            "--artifact-store", store, "--watch", str(root), "--quiet-seconds", "0.3")
               for name in ("a", "b")]  # fmt: skip
    try:
        for i in range(6):
            unit = root / "fraud" / f"run-{i}"
            unit.mkdir()
            (unit / "weights.dat").write_bytes(bytes([i]) * 64)
            (unit / "notes.txt").write_text(f"run {i}")
        verdicts = [wait_for(lambda d=d: _settled_drops(d, 6), "every drop to be registered", 60) for d in daemons]
        with daemons[1].channel() as channel:
            versions = stubs(channel).versions.ListModelVersions(
                registry_pb2.ListModelVersionsRequest(parent="models/fraud", page_size=100)).versions  # fmt: skip
    finally:
        for daemon in daemons:
            stop_daemon(daemon)

    assert verdicts[0] == verdicts[1]  # both daemons tell the same story
    assert sorted(number for _, number in verdicts[0]) == list(range(1, 7))  # one version per drop
    assert sorted(v.name for v in versions) == sorted(f"models/fraud/versions/{n}" for n in range(1, 7))


def _settled_drops(daemon: Daemon, count: int) -> list[tuple[str, int]] | None:
    """(folder, version number) of each registered drop, once `count` of them are."""
    with daemon.channel() as channel:
        drops = drops_pb2_grpc.DropServiceStub(channel).ListDrops(drops_pb2.ListDropsRequest(page_size=100)).drops
    registered = sorted((Path(d.path).name, int(d.version.rsplit("/", 1)[1]))
                        for d in drops if d.state == drops_pb2.DROP_STATE_REGISTERED)  # fmt: skip
    return registered if len(registered) == count else None
