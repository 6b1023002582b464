"""One table of the unary RPCs, from which both clients get their methods.

Each entry is an `Rpc`: the request builder of `calls` (which names the service, the stub
method, the request and whether it may be resent) and how the answer is unwrapped. Read
from a `Client` it is a plain method; from an `AsyncClient` a coroutine method; each
client only says how one call is sent (`_bind`). Its parameters are the builder's, so one
signature serves both flavours, and mypy sees it through the overloads of `__get__`.
Streams, uploads and downloads differ in kind between the flavours and stay hand-written.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from studbook.client import calls
from studbook.client.errors import StudbookError
from studbook.v1 import access_pb2, hooks_pb2, production_pb2, registry_pb2, resources_pb2

if TYPE_CHECKING:
    from google.rpc import status_pb2
    from studbook.client.clients import AsyncClient, Client

P = ParamSpec("P")
M = TypeVar("M", bound=Message)
R = TypeVar("R")


class Rpc(Generic[P, M, R]):
    """A method of both clients: `build(*args)` makes the call, `unwrap(answer)` is what callers get."""

    def __init__(self, build: Callable[P, calls.Call[M]], unwrap: Callable[[M], R], doc: str | None) -> None:
        self.build = build
        self.unwrap = unwrap
        self.name = build.__name__
        self.__doc__ = doc or build.__doc__
        # What `help()` and `inspect.signature` show on either client: the builder's parameters.
        self.__signature__ = inspect.signature(build).replace(return_annotation=inspect.Signature.empty)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, client: None, owner: type) -> Rpc[P, M, R]: ...
    @overload
    def __get__(self, client: Client, owner: type) -> Callable[P, R]: ...
    @overload
    def __get__(self, client: AsyncClient, owner: type) -> Callable[P, Coroutine[Any, Any, R]]: ...
    def __get__(self, client: Client | AsyncClient | None, owner: type) -> Any:
        if client is None:
            return self
        method: Any = client._bind(self)
        method.__name__ = self.name
        method.__qualname__ = f"{type(client).__name__}.{self.name}"
        method.__doc__ = self.__doc__
        method.__signature__ = self.__signature__
        # Kept on the instance: later look-ups are plain attribute reads, and tests may replace it.
        client.__dict__[self.name] = method
        return method


def _same(answer: M) -> M:
    return answer


@overload
def rpc(build: Callable[P, calls.Call[M]], *, doc: str | None = None) -> Rpc[P, M, M]: ...
@overload
def rpc(build: Callable[P, calls.Call[M]], unwrap: Callable[[M], R], *, doc: str | None = None) -> Rpc[P, M, R]: ...
def rpc(build: Callable[P, calls.Call[M]], unwrap: Callable[[M], Any] = _same, *, doc: str | None = None) -> Any:
    return Rpc(build, unwrap, doc)


def _serving_status(answer: health_pb2.HealthCheckResponse) -> str:
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


def _logged(answer: registry_pb2.LogMetricsResponse) -> int:
    return answer.logged


def _metrics(answer: registry_pb2.ListMetricsResponse) -> list[resources_pb2.Metric]:
    return list(answer.metrics)


def _tokens(answer: access_pb2.ListTokensResponse) -> list[access_pb2.Token]:
    return list(answer.tokens)


def _hooks(answer: hooks_pb2.ListHooksResponse) -> list[hooks_pb2.Hook]:
    return list(answer.hooks)


def _deliveries(answer: hooks_pb2.ListDeliveriesResponse) -> list[hooks_pb2.HookDelivery]:
    return list(answer.deliveries)


def _registered_each(
    answer: registry_pb2.RegisterModelVersionsResponse,
) -> list[registry_pb2.RegisterModelVersionResponse | StudbookError]:
    return [
        result.registered if result.HasField("registered") else _status_error(result.error) for result in answer.results
    ]


def _status_error(status: status_pb2.Status) -> StudbookError:
    """A refusal carried in a message (one item of a batch) rather than in a call's trailers."""
    # Loaded with the first refusal: a client that is never refused never needs them.
    from google.rpc import code_pb2, error_details_pb2

    code = code_pb2.Code.Name(status.code) if status.code in code_pb2.Code.values() else "UNKNOWN"
    reason, metadata = code, {}
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            reason, metadata = info.reason or reason, dict(info.metadata)
            break
    return StudbookError(code, reason, status.message or code.lower(), metadata)


def _nothing(answer: Message) -> None:
    return None


def _names(table: type) -> Iterable[str]:
    return (name for name, value in vars(table).items() if isinstance(value, Rpc))


def _states(answer: production_pb2.ListMonitorStatesResponse) -> list[production_pb2.MonitorState]:
    return list(answer.states)


def _drift(answer: production_pb2.LogInputStatisticsResponse) -> production_pb2.WindowDrift:
    return answer.drift


def _feature_count(answer: production_pb2.SetReferenceStatisticsResponse) -> int:
    return answer.features


def _windows(answer: production_pb2.InputDriftReport) -> list[production_pb2.WindowDrift]:
    return list(answer.windows)


class Methods:
    """Every unary RPC of the v1 contract as a method of `Client` and `AsyncClient`."""

    # ---- health ----
    health = rpc(calls.health, _serving_status, doc="The daemon's serving status, e.g. `SERVING`.")

    # ---- models ----
    create_model = rpc(calls.create_model)
    get_model = rpc(calls.get_model)
    list_models = rpc(calls.list_models)
    update_model = rpc(calls.update_model)
    archive_model = rpc(calls.archive_model)
    restore_model = rpc(calls.restore_model)
    rename_model = rpc(
        calls.rename_model,
        doc=("Rename a model (`fraud` -> `fraud-v2`) with its versions, stages, aliases and history; admin only."),
    )
    delete_model = rpc(calls.delete_model)

    # ---- versions ----
    register_many = rpc(calls.register_many, _registered_each, doc=(
        "Register many versions (of one model or several; at most 500) in one call, e.g.\n"
        '`register_many([register_request("fraud", uri=u) for u in uris])`. Returns one result per\n'
        "request, in order: its RegisterModelVersionResponse, or the StudbookError that refused it\n"
        "(returned, not raised: the others stand). Paths are read by the daemon; nothing is uploaded."))  # fmt: skip
    get_version = rpc(calls.get_version, doc=(
        '`get_version("fraud", "production")`, `get_version("fraud@3")`, `get_version("fraud")` (latest).'))  # fmt: skip
    list_versions = rpc(calls.list_versions)
    update_version = rpc(calls.update_version)
    archive_version = rpc(calls.archive_version)
    restore_version = rpc(calls.restore_version, doc=(
        '`restore_version("fraud@3")`: an archived version (one deleted through the MLflow API too) ready again.'))  # fmt: skip
    log_metrics = rpc(calls.log_metrics, _logged, doc=(
        'Append observations, e.g. `log_metrics("fraud@3", {"loss": 0.2}, step=100)`; returns how many.'))  # fmt: skip
    list_metrics = rpc(calls.list_metrics, _metrics)
    diff = rpc(calls.diff_versions)

    # ---- lineage ----
    get_lineage = rpc(calls.get_lineage, doc=(
        "Walk from a version, `datasets/{name}@{version}` or `runs/{id}`: up, down or both."))  # fmt: skip

    # ---- stages ----
    promote = rpc(calls.promote, doc="Move `version` (e.g. `fraud@7`) into a stage or point an alias at it.")
    rollback = rpc(calls.rollback, doc=(
        "Puts back the version the holder of `stage` replaced, or `to`, a named earlier holder; `validate_only` says "
        "which, and changes nothing."))  # fmt: skip
    list_monitor_states = rpc(calls.list_monitor_states, _states, doc=(
        "The policy's monitors: which stages are in breach, since when, on what figures, and the candidate."))  # fmt: skip
    rollback_candidate = rpc(calls.rollback_candidate, doc=(
        "The earlier holders of a stage ranked by production record (evaluation where none), the best\n"
        "first, beside what a plain rollback would bring back."))  # fmt: skip
    delete_alias = rpc(calls.delete_alias, _nothing)
    get_promotion = rpc(calls.get_promotion)
    list_promotions = rpc(calls.list_promotions)
    approve_promotion = rpc(calls.approve_promotion)
    reject_promotion = rpc(calls.reject_promotion)
    cancel_promotion = rpc(calls.cancel_promotion)
    stage_history = rpc(calls.stage_history)
    # ---- production ----
    observe = rpc(calls.observe, doc=(
        'Record what serving measured, e.g. `observe("fraud@production", {"auc": 0.91})`, optionally with\n'
        "the `window_end` the values summarise (default: now) and a `segment`; each point goes to the\n"
        "version that held the stage then. Returns how many were recorded and to which versions.\n"
        "Carries a request_id, so a resend never records twice."))  # fmt: skip
    production_record = rpc(calls.production_record, doc=(
        'Each version that held a stage, when, and its production series: `production_record("fraud@production",\n'
        'keys=["auc"], since=...)`; each holder also carries its own evaluation metrics.'))  # fmt: skip
    get_policy_status = rpc(calls.get_policy_status, doc=(
        "Which promotion policy is in force, when it was loaded, and why a newer file is not."))  # fmt: skip

    # ---- drop-ins ----
    list_drops = rpc(
        calls.list_drops, doc="Every drop the watcher knows, whatever its state, ordered by root and path."
    )
    list_quarantined_drops = rpc(calls.list_quarantined_drops, doc=(
        "The drops that could not be registered, each with its reason and what to fix."))  # fmt: skip
    retry_drop = rpc(calls.retry_drop, doc=(
        "Ask the watcher to look at a drop again now, by name (`drops/{id}`) or by path;\n"
        "`allow_unsafe` lets it register although it runs code when loaded (maintainer role).\n\n"
        "Returns the drop as it stands when asked; `wait_for_drop` waits for the new verdict."))  # fmt: skip
    get_watch_status = rpc(calls.get_watch_status, doc=(
        "The watched roots and their observers, whether watching is degraded and why.\n\n"
        "A daemon that watches no folder answers with no roots."))  # fmt: skip
    get_catalog_status = rpc(calls.get_catalog_status, doc=(
        "The catalog's backend and, for a PostgreSQL catalog shared by several daemons, whether this\n"
        "daemon hears the others' commits (the location only for maintainers and above)."))  # fmt: skip

    # ---- audit ----
    verify_audit_trail = rpc(calls.verify_audit_trail, doc=(
        "Recompute the hash chain of every recorded change; names the first broken record."))  # fmt: skip

    # ---- retention ----
    plan_garbage_collection = rpc(calls.plan_garbage_collection, doc=(
        "What `collect_garbage` would do now, changing nothing (needs the maintainer role)."))  # fmt: skip
    collect_garbage = rpc(calls.collect_garbage, doc=(
        "Archive and purge what the policy's retention says, then delete the blobs no version\n"
        "refers to (needs the admin role). Never resent automatically."))  # fmt: skip

    # ---- access ----
    create_token = rpc(calls.create_token, doc=(
        'Create a token named `name` with `role` ("viewer" ... "admin", or the enum), expiring after\n'
        "`ttl_seconds` (0: never). The answer's `secret` is the only time it is shown.\n\n"
        "Needs the admin role. Never resent automatically: names are never reused."))  # fmt: skip
    list_tokens = rpc(calls.list_tokens, _tokens, doc=(
        "The tokens (never their secrets), oldest first; revoked ones only with `show_revoked`."))  # fmt: skip
    revoke_token = rpc(calls.revoke_token, doc=(
        "Revoke a token by `tokens/{id}` or display name; its next call is refused (TOKEN_REVOKED)."))  # fmt: skip
    get_caller = rpc(calls.get_caller, doc="Who the daemon takes this client for: actor, role, transport and token.")

    # ---- webhooks (admin; get_hook_status: any reader) ----
    add_hook = rpc(calls.add_hook, doc=(
        "Add a webhook POSTing the events matching `events` (e.g. \"version.registered,promotion.*\")\n"
        "on models matching `model` to `url`, signed with `secret` (16+ characters; empty: the\n"
        "daemon makes one, in the answer's `secret`, shown only then). Never resent automatically."))  # fmt: skip
    list_hooks = rpc(calls.list_hooks, _hooks, doc="The webhooks, oldest first (never their secrets).")
    remove_hook = rpc(calls.remove_hook, doc="Remove a webhook by name; nothing more is sent to it.")
    test_hook = rpc(calls.test_hook, doc="Send a signed `hook.test` event to a webhook now; what it answered.")
    list_deliveries = rpc(calls.list_deliveries, _deliveries, doc=(
        "A webhook's newest delivery attempts, newest first (`limit` 0: 50)."))  # fmt: skip
    replay_hook = rpc(calls.replay_hook, doc=(
        "Deliver a webhook's events again from `from_revision` on; resumes a paused webhook."))  # fmt: skip
    get_hook_status = rpc(calls.get_hook_status, doc="How many webhooks there are, and which are paused.")

    # ---- input drift (logging: writer; reading: any reader) ----
    log_input_statistics = rpc(calls.log_input_statistics, _drift, doc=(
        "Log one production window's input statistics for the version holding `stage` at `window_end`\n"
        "(build them with `studbook.client.stats`); the window's drift from that version's reference."))  # fmt: skip
    log_inputs = rpc(calls.log_input_statistics, doc=(
        "As `log_input_statistics`, with the whole answer: the window's `drift`, and in `changed` the\n"
        "stage's monitors the window put in breach or cleared (with the candidate and what auto_rollback did)."))  # fmt: skip
    set_reference_statistics = rpc(calls.set_reference_statistics, _feature_count, doc=(
        "Set the reference statistics of a version registered without them; ALREADY_EXISTS when set."))  # fmt: skip
    get_input_drift = rpc(calls.get_input_drift, _windows, doc=(
        "A stage's input windows, newest first (`last` 0: 100), with each feature's PSI and KS distance."))  # fmt: skip


# The names of the table's methods, for tests and documentation.
UNARY_METHODS: tuple[str, ...] = tuple(_names(Methods))
