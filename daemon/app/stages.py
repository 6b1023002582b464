"""Use cases on stages and aliases: promote, roll back, remove an alias, and the history."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.app.models import check_etag
from studbook.daemon.app.policy import PolicyStore, verify_files
from studbook.daemon.blobs import BlobStore
from studbook.daemon.domain.access import Caller, authorize, promote_role, rollback_role
from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from studbook.daemon.domain.fields import PROMOTION_FIELDS
from studbook.daemon.domain.filter import Comparison, Text, parse_filter
from studbook.daemon.domain.gates import evaluate, held_stage
from studbook.daemon.domain.model import (
    Approval,
    GateResult,
    Model,
    Promotion,
    PromotionState,
    StageChange,
    VersionStatus,
)
from studbook.daemon.domain.names import (
    VersionRef,
    model_name,
    parse_model_name,
    parse_version_name,
    validate_label,
    validate_text,
)
from studbook.daemon.domain.policy import ModelPolicy, Policy, StageGates
from studbook.daemon.store.interface import StoreTransaction as Transaction

MAX_REASON = 4096
# Approvals a pending promotion needs when no policy says otherwise.
REQUIRED_APPROVALS = 1
PROMOTABLE = (VersionStatus.READY,)


@dataclass
class PromotionRequest:
    version: str
    target: str
    caller: Caller
    reason: str = ""
    validate_only: bool = False
    expected_etag: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class FilesCheck:
    """The outcome of re-hashing a version's files before the promotion reached the writer."""

    number: int
    ok: bool | None
    detail: str


@dataclass(frozen=True)
class FilesNeeded:
    """A decision's answer, having written nothing, when it is the last approval of a promotion
    whose gates verify files and they were not re-hashed yet: hash version `number`, then retry."""

    number: int


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback of one stage or alias would do: put `previous` back in place of `current`."""

    model: Model
    is_alias: bool
    current: int
    previous: int


@dataclass
class History:
    changes: list[StageChange]
    holders_at: dict[str, int] | None
    next_page_token: str


def promotion_name(model: str, promotion_id: int) -> str:
    return f"models/{model}/promotions/{promotion_id}"


def parse_promotion_name(name: str) -> tuple[str, int]:
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "models" or parts[2] != "promotions" or not parts[3].isdigit():
        raise InvalidArgument(f"name must look like models/{{model}}/promotions/{{id}}, got {name[:200]!r}",
                              reason="INVALID_NAME", field="name")  # fmt: skip
    return parse_model_name("/".join(parts[:2])), int(parts[3])


class StageUseCases:
    def __init__(self, core: Core, blobs: BlobStore, policy: PolicyStore | None = None) -> None:
        self.core = core
        self.blobs = blobs
        self.policy = policy or PolicyStore(None)
        # Called with the model after a change of its stages is applied (the monitors look again).
        self.after_stage_change: list[Callable[[str, Caller], Awaitable[None]]] = []

    async def _applied(self, promotion: Promotion, caller: Caller) -> Promotion:
        if promotion.state is PromotionState.APPLIED and not promotion.is_alias:
            for follow in self.after_stage_change:
                await follow(promotion.model, caller)
        return promotion

    # -- promote -----------------------------------------------------------------------

    async def promote(self, request: PromotionRequest) -> Promotion:
        ref = parse_version_name(request.version)
        validate_label(request.target, "target")
        validate_text(request.reason, MAX_REASON, "reason")
        policy = self.policy.current()
        stage_gates = policy.for_model(ref.model).gates_for(request.target)
        needed = promote_role(request.target, validate_only=request.validate_only, approvals=stage_gates.approvals,
                              approver_stages=policy.approver_stages)  # fmt: skip
        authorize(request.caller, needed, f"promoting to {request.target!r}", target=request.target)
        files = None
        if stage_gates.verify_files:
            files = await self._verify_files(ref.model, await self.core.resolve_number(ref))
        promoted = await self.core.write(lambda tx: self._promote(tx, ref.model, ref, request, policy, files))
        return await self._applied(promoted, request.caller)

    async def _verify_files(self, model_id: str, number: int) -> FilesCheck:
        """Re-hashes before the writer op: hashing is slow and must hold up neither the loop nor the writer."""
        version = await self.core.read_version(model_id, number)
        ok, detail = await asyncio.to_thread(verify_files, version, self.blobs)
        return FilesCheck(number, ok, detail)

    def _promote(self, tx: Transaction, model_id: str, ref: VersionRef, request: PromotionRequest,
                 policy: Policy, files: FilesCheck | None) -> Effects:  # fmt: skip
        found = tx.promotion_requested_by(model_id, request.request_id) if request.request_id else None
        if found is not None:
            return Effects(value=found)
        model = self.core.writer_model(model_id)
        number = self._resolve(tx, model, ref)
        is_alias = request.target not in model.stages
        holders = model.aliases if is_alias else model.stage_holders
        previous = holders.get(request.target)
        model_policy = policy.for_model(model_id)
        stage_gates = model_policy.gates_for(request.target)
        gates = self._all_gates(tx, model_policy, stage_gates, model, number, request.target, is_alias, previous, files)
        required = stage_gates.approvals
        now = self.core.clock()
        promotion = Promotion(
            id=0, model=model_id, version=number, target=request.target, is_alias=is_alias,
            state=PromotionState.VALIDATED, previous_version=previous, reason=request.reason,
            actor=request.caller.actor, gate_results=gates, request_id=request.request_id,
            create_time=now, update_time=now, required_approvals=required,
        )  # fmt: skip
        failed = [g for g in gates if not g.passed]
        if request.validate_only:
            promotion.state = PromotionState.FAILED if failed else PromotionState.VALIDATED
            return Effects(value=promotion)
        if failed:
            raise _refusal("promotion", failed, model_id, number, request.target)
        check_etag(model, request.expected_etag)
        if required:
            return self._hold_for_approval(tx, promotion, request.caller)
        return self._apply(tx, model, promotion, request.caller, rollback=False)

    def _all_gates(
        self, tx: Transaction, model_policy: ModelPolicy, gates: StageGates, model: Model, number: int, target: str,
        is_alias: bool, previous: int | None, files: FilesCheck | None,
    ) -> list[GateResult]:  # fmt: skip
        """Every verdict on version `number` entering `target` over holder `previous`: the built-in
        checks, whether the policy allows the stage, then `gates`, as this transaction sees them."""
        results = self._checks(tx, model, number, target, previous)
        if model_policy.stages is not None and not is_alias:
            allowed = target in model_policy.stages
            results.append(GateResult(
                "stage_allowed", allowed,
                f"the policy for {model_policy.pattern!r} {'allows' if allowed else 'does not allow'} stage "
                f"{target!r} (stages: {', '.join(model_policy.stages) or 'none'})",
            ))  # fmt: skip
        return results + self._judge(tx, gates, model, number, target, previous, files)

    def _judge(
        self, tx: Transaction, gates: StageGates, model: Model, number: int, target: str, previous: int | None,
        files: FilesCheck | None,
    ) -> list[GateResult]:  # fmt: skip
        """`gates` on version `number` entering `target` over holder `previous`, as this transaction sees them."""
        if gates.empty:
            return []
        version = tx.get_version(model.name, number)
        if version is None:
            raise NotFound(f"version {number} of model {model.name!r} does not exist", reason="VERSION_NOT_FOUND",
                           model=model.name)  # fmt: skip
        holder = tx.get_version(model.name, previous) if previous is not None else None
        if files is None or files.number != number:
            # The reference moved to another version after the files were hashed.
            ok, detail = None, "the version changed while its files were being re-hashed; try again"
        else:
            ok, detail = files.ok, files.detail
        return evaluate(gates, version, holder, ok, detail, target=target, held=held_stage(model, number))

    def _hold_for_approval(self, tx: Transaction, promotion: Promotion, caller: Caller) -> Effects:
        """Stores a promotion whose gates all passed as waiting for its approvals."""
        self.core.state.promotion_id += 1
        promotion = replace(promotion, id=self.core.state.promotion_id, state=PromotionState.PENDING_APPROVAL)
        tx.insert_promotion(promotion)
        effects = Effects(value=promotion)
        self.core.event(tx, effects, "promotion.created", promotion_name(promotion.model, promotion.id),
                        promotion.model, caller, promotion)  # fmt: skip
        return effects

    def _resolve(self, tx: Transaction, model: Model, ref: VersionRef) -> int:
        if ref.number is not None:
            number = ref.number
        elif ref.is_latest:
            number = model.latest_version
        else:
            label = ref.label or ""
            number = model.stage_holders.get(label) or model.aliases.get(label) or 0
        if self.core.state.status_of(tx, model.name, number) is None:
            raise NotFound(f"version {ref.number or ref.label} of model {model.name!r} does not exist",
                           reason="VERSION_NOT_FOUND", model=model.name)  # fmt: skip
        return number

    def _checks(self, tx: Transaction, model: Model, number: int, target: str,
                previous: int | None) -> list[GateResult]:  # fmt: skip
        """The built-in checks every promotion passes; policy gates add to these."""
        status = self.core.state.status_of(tx, model.name, number)
        return [
            GateResult(
                "version_ready",
                status in PROMOTABLE,
                f"version {number} is {status.value if status else 'gone'}"
                + ("" if status in PROMOTABLE else "; only ready versions can be promoted"),
            ),
            GateResult(
                "not_current_holder",
                previous != number,
                f"version {number} already holds {target}" if previous == number else f"{target} changes hands",
            ),
        ]

    def _apply(self, tx: Transaction, model: Model, promotion: Promotion, caller: Caller, rollback: bool) -> Effects:
        """Writer thread: moves the target to the promoted version and records it all, as done by
        `caller` (who asked, or whose approval was the last one needed)."""
        state = self.core.state
        effects = Effects()
        updated = model.copy()
        is_new = promotion.id == 0
        if is_new:
            state.promotion_id += 1
            promotion = replace(promotion, id=state.promotion_id)
        promotion = replace(promotion, state=PromotionState.APPLIED, rollback=rollback)
        changes: list[tuple[str, bool, int | None, int | None]] = []
        if not promotion.is_alias:
            # A version holds one stage at a time: moving it on vacates where it was.
            for stage, holder in list(updated.stage_holders.items()):
                if holder == promotion.version and stage != promotion.target:
                    del updated.stage_holders[stage]
                    changes.append((stage, False, None, holder))
        holders = updated.aliases if promotion.is_alias else updated.stage_holders
        holders[promotion.target] = promotion.version
        changes.append((promotion.target, promotion.is_alias, promotion.version, promotion.previous_version))
        subject = promotion_name(model.name, promotion.id)
        kind = "alias.changed" if promotion.is_alias else "stage.changed"
        updated.update_time = promotion.update_time
        revision = self.core.event(tx, effects, kind, subject, model.name, caller, promotion)
        updated.revision = revision
        for label, is_alias, number, previous in changes:
            tx.set_holder(model.name, label, is_alias, number)
            tx.insert_stage_change(StageChange(
                model=model.name, stage=label, is_alias=is_alias, version=number, previous_version=previous,
                actor=promotion.actor, reason=promotion.reason, time=promotion.update_time or self.core.clock(),
                promotion_id=promotion.id, rollback=rollback, revision=revision,
            ))  # fmt: skip
        if is_new:
            tx.insert_promotion(promotion)
        else:
            tx.update_promotion(promotion)
        tx.update_model(updated)
        state.models[model.name] = updated
        effects.models[model.name] = self.core.snapshot(updated)
        effects.value = promotion
        return effects

    # -- roll back ---------------------------------------------------------------------

    async def rollback(self, model_ref: str, stage: str, reason: str, expected_etag: str, caller: Caller,
                       validate_only: bool = False, to: str = "") -> Promotion:  # fmt: skip
        """Puts back the version the current holder of `stage` (or alias) replaced, or `to`: a
        named earlier holder (a canonical version name or a number), e.g. a monitor's candidate.

        A rollback is the emergency exit, so by default it runs no gate. The policy's
        `rollback_skips` for the stage names the gate kinds it skips; the others are judged on
        the version put back, `beat_holder` and `signature_compatible` against the holder it
        replaces. Approvals are always skipped: the version put back already passed the
        stage's approvals when it was promoted there. A failed gate refuses the rollback with
        every failed gate listed, as a promotion is refused, and changes nothing; the verdicts
        of the gates that ran are recorded on the rollback's Promotion. With `validate_only`
        the same plan and gates are worked out and returned (VALIDATED or FAILED), and
        nothing changes: what a confirmation says is what the rollback would do.
        """
        model_id = parse_model_name(model_ref, "model")
        validate_label(stage, "stage")
        validate_text(reason, MAX_REASON, "reason")
        wanted = _earlier_holder_number(model_id, to) if to else None
        policy = self.policy.current()
        if not validate_only:
            authorize(caller, rollback_role(stage, policy.approver_stages), f"rolling back {stage!r}", stage=stage)
        gates = policy.for_model(model_id).gates_for(stage).for_rollback()
        files = None
        if gates.verify_files:
            # The writer names the version to put back (by the rule the rollback itself uses);
            # its files are hashed off the loop and the writer, and the rollback checks it still
            # puts back that version.
            number = await self.core.write(
                lambda tx: Effects(value=self._rollback_plan(tx, model_id, stage, expected_etag, wanted).previous)
            )
            files = await self._verify_files(model_id, number)

        def operation(tx: Transaction) -> Effects:
            plan = self._rollback_plan(tx, model_id, stage, expected_etag, wanted)
            results = self._judge(tx, gates, plan.model, plan.previous, stage, plan.current, files)
            failed = [g for g in results if not g.passed]
            now = self.core.clock()
            promotion = Promotion(
                id=0, model=model_id, version=plan.previous, target=stage, is_alias=plan.is_alias,
                state=PromotionState.APPLIED, previous_version=plan.current,
                reason=reason or f"roll back {stage} from version {plan.current} to {plan.previous}", actor=caller.actor,
                gate_results=results, create_time=now, update_time=now,
            )  # fmt: skip
            if validate_only:
                promotion.state = PromotionState.FAILED if failed else PromotionState.VALIDATED
                return Effects(value=promotion)
            if failed:
                raise _refusal("rollback", failed, model_id, plan.previous, stage)
            return self._apply(tx, plan.model, promotion, caller, rollback=True)

        return await self._applied(await self.core.write(operation), caller)

    def _rollback_plan(self, tx: Transaction, model_id: str, stage: str, expected_etag: str,
                       wanted: int | None = None) -> RollbackPlan:  # fmt: skip
        """Writer thread: who holds `stage` now and who a rollback puts back (`wanted`, when
        named, must have held it before), or why it cannot."""
        model = self.core.writer_model(model_id)
        if stage not in model.stages and stage not in model.aliases:
            raise NotFound(f"{stage!r} is neither a stage nor an alias of {model_id!r}",
                           reason="STAGE_NOT_FOUND", model=model_id, stage=stage)  # fmt: skip
        check_etag(model, expected_etag)
        is_alias = stage not in model.stages
        current = (model.aliases if is_alias else model.stage_holders).get(stage)
        if current is None:
            raise FailedPrecondition(f"{stage!r} of {model_id!r} holds no version", reason="STAGE_EMPTY",
                                     model=model_id, stage=stage)  # fmt: skip
        if wanted is not None:
            previous: int | None = self._named_earlier_holder(tx, model_id, stage, current, wanted)
        else:
            previous = self._installed_over(tx, model_id, stage, current)
        if previous is None:
            raise FailedPrecondition(
                f"{stage!r} of {model_id!r} had no holder before version {current}; nothing to roll back to",
                reason="NO_PREVIOUS_HOLDER",
                model=model_id,
                stage=stage,
            )
        if self.core.state.status_of(tx, model_id, previous) not in PROMOTABLE:
            raise FailedPrecondition(
                f"the {'named earlier' if wanted is not None else 'previous'} holder, version {previous}, is no longer "
                "ready",
                reason="PREVIOUS_HOLDER_UNAVAILABLE",
                model=model_id,
                version=previous,
            )
        return RollbackPlan(model, is_alias, current, previous)

    @staticmethod
    def _named_earlier_holder(tx: Transaction, model_id: str, stage: str, current: int, wanted: int) -> int:
        """`wanted` when it held `stage` at some time before and does not hold it now."""
        if wanted == current:
            raise FailedPrecondition(f"version {wanted} holds {stage!r} of {model_id!r} now; name an earlier holder",
                                     reason="ALREADY_HOLDS_TARGET", model=model_id, stage=stage, version=wanted)  # fmt: skip
        earlier = sorted({c.version for c in tx.stage_changes(model_id, stage) if c.version is not None} - {current})
        if wanted not in earlier:
            listed = ", ".join(str(n) for n in earlier) or "none"
            raise FailedPrecondition(
                f"version {wanted} never held {stage!r} of {model_id!r}, so a rollback cannot put it back; "
                f"earlier holders: {listed} (promote it instead to run the stage's gates)",
                reason="NOT_A_PREVIOUS_HOLDER", model=model_id, stage=stage, version=wanted,
            )  # fmt: skip
        return wanted

    def _installed_over(self, tx: Transaction, model_id: str, stage: str, current: int) -> int | None:
        """The version `current` replaced when it was last promoted (not rolled back) into `stage`.

        Walking back from there means repeated rollbacks go further back, never ping-pong.
        """
        return tx.previous_holder(model_id, stage, current)

    # -- aliases -----------------------------------------------------------------------

    async def delete_alias(self, model_ref: str, alias: str, reason: str, caller: Caller) -> None:
        model_id = parse_model_name(model_ref, "model")
        validate_label(alias, "alias")

        def operation(tx: Transaction) -> Effects:
            model = self.core.writer_model(model_id)
            if alias not in model.aliases:
                raise NotFound(f"model {model_id!r} has no alias {alias!r}", reason="ALIAS_NOT_FOUND",
                               model=model_id, alias=alias)  # fmt: skip
            updated = model.copy()
            previous = updated.aliases.pop(alias)
            updated.update_time = self.core.clock()
            effects = Effects()
            updated.revision = self.core.event(tx, effects, "alias.deleted", model_name(model_id), model_id,
                                               caller, updated)  # fmt: skip
            tx.set_holder(model_id, alias, True, None)
            tx.insert_stage_change(StageChange(
                model=model_id, stage=alias, is_alias=True, version=None, previous_version=previous,
                actor=caller.actor, reason=reason, time=updated.update_time, promotion_id=None, rollback=False,
                revision=updated.revision,
            ))  # fmt: skip
            tx.update_model(updated)
            self.core.state.models[model_id] = updated
            effects.models[model_id] = self.core.snapshot(updated)
            return effects

        await self.core.write(operation)

    # -- promotions --------------------------------------------------------------------

    async def get_promotion(self, name: str) -> Promotion:
        model_id, promotion_id = parse_promotion_name(name)
        found = await self.core.read(self.core.catalog.get_promotion, model_id, promotion_id)
        if found is None:
            raise NotFound(f"promotion {name} does not exist", reason="PROMOTION_NOT_FOUND", name=name)
        return found

    async def list_promotions(
        self, parent: str, filter_text: str, page_size: int, page_token: str
    ) -> tuple[list[Promotion], str]:
        model_id = None if parent in ("", "models/-") else parse_model_name(parent, "parent")
        state = _state_filter(filter_text)
        limit = min(page_size or 50, 1000)
        before = _int_token(page_token)
        found = await self.core.read(self.core.catalog.list_promotions, model_id, state or None, limit + 1, before)
        next_token = str(found[limit - 1].id) if len(found) > limit else ""
        return found[:limit], next_token

    async def decide(self, name: str, decision: PromotionState, comment: str, caller: Caller) -> Promotion:
        """Approve, reject or cancel a promotion waiting for approval.

        The last approval needed judges the promotion again, as a promotion asked for now
        would be (approvals aside: they are what just completed): the holder, the stage the
        version holds, its files and the policy may all have changed while it waited. If a
        gate fails, the promotion is stored as failed with the fresh verdicts, and the call
        is refused naming every failed gate.
        """
        model_id, promotion_id = parse_promotion_name(name)
        validate_text(comment, MAX_REASON, "comment")
        policy = self.policy.current()
        operation = partial(self._decide, model_id=model_id, promotion_id=promotion_id, name=name,
                            decision=decision, comment=comment, caller=caller, policy=policy)  # fmt: skip
        decided = await self.core.write(partial(operation, files=None))
        if isinstance(decided, FilesNeeded):
            # Hashed only once this approval is known to be the last, off the loop and the
            # writer; the version of a promotion never changes, so one retry is enough.
            files = await self._verify_files(model_id, decided.number)
            decided = await self.core.write(partial(operation, files=files))
        if decision == PromotionState.APPROVED and decided.state == PromotionState.FAILED:
            # Raised after the write: the failed promotion is committed, not undone.
            failed = [g for g in decided.gate_results if not g.passed]
            raise _refusal(f"promotion {name}", failed, model_id, decided.version, decided.target,
                           promotion=name, state=decided.state.value)  # fmt: skip
        return await self._applied(decided, caller)

    def _decide(
        self, tx: Transaction, *, model_id: str, promotion_id: int, name: str, decision: PromotionState, comment: str,
        caller: Caller, policy: Policy, files: FilesCheck | None,
    ) -> Effects:  # fmt: skip
        """Writer thread: records the decision; the last approval applies or fails the promotion.

        Its value is the promotion, or FilesNeeded (having written nothing) when the last
        approval must first have the version's files re-hashed.
        """
        promotion = tx.get_promotion(model_id, promotion_id)
        if promotion is None:
            raise NotFound(f"promotion {name} does not exist", reason="PROMOTION_NOT_FOUND", name=name)
        if promotion.state != PromotionState.PENDING_APPROVAL:
            raise FailedPrecondition(
                f"promotion {name} is {promotion.state.value}, not waiting for approval",
                reason="PROMOTION_NOT_PENDING",
                state=promotion.state.value,
            )
        now = self.core.clock()
        if decision == PromotionState.APPROVED:
            self._check_approver(promotion, caller.actor)
            if len(promotion.approvals) + 1 >= (promotion.required_approvals or REQUIRED_APPROVALS):
                gates = policy.for_model(model_id).gates_for(promotion.target)
                if gates.verify_files and (files is None or files.number != promotion.version):
                    return Effects(value=FilesNeeded(promotion.version))
                promotion.approvals.append(Approval(caller.actor, comment, now))
                return self._apply_approved(tx, promotion, now, caller, policy, files)
            promotion.approvals.append(Approval(caller.actor, comment, now))
        else:
            promotion.reason = "; ".join(filter(None, [promotion.reason, comment]))
            promotion.state = decision
        effects = Effects(value=promotion)
        self._close(tx, promotion, promotion.state, now, caller, effects)
        return effects

    @staticmethod
    def _check_approver(promotion: Promotion, actor: str) -> None:
        if actor == promotion.actor:
            raise FailedPrecondition(
                f"{actor!r} asked for this promotion and cannot approve it; another approver must",
                reason="SELF_APPROVAL",
                actor=actor,
            )
        if any(a.actor == actor for a in promotion.approvals):
            raise FailedPrecondition(f"{actor!r} has already approved this promotion", reason="ALREADY_APPROVED",
                                     actor=actor)  # fmt: skip

    def _apply_approved(self, tx: Transaction, promotion: Promotion, now: datetime, caller: Caller, policy: Policy,
                        files: FilesCheck | None) -> Effects:  # fmt: skip
        """The last approval arrived: judge the promotion again against the current holder, state
        and policy; apply it if every gate passes, else store it as failed and change nothing else."""
        model = self.core.writer_model(promotion.model)
        holders = model.aliases if promotion.is_alias else model.stage_holders
        current = holders.get(promotion.target)
        model_policy = policy.for_model(model.name)
        gates = replace(model_policy.gates_for(promotion.target), approvals=0)
        results = self._all_gates(tx, model_policy, gates, model, promotion.version, promotion.target,
                                  promotion.is_alias, current, files)  # fmt: skip
        if all(g.passed for g in results):
            return self._apply(tx, model, replace(promotion, update_time=now, previous_version=current,
                                                  gate_results=results), caller, rollback=False)  # fmt: skip
        promotion.gate_results = results
        effects = Effects(value=promotion)
        self._close(tx, promotion, PromotionState.FAILED, now, caller, effects)
        return effects

    def _close(self, tx: Transaction, promotion: Promotion, state: PromotionState, now: datetime,
               caller: Caller, effects: Effects) -> None:  # fmt: skip
        promotion.state = state
        promotion.update_time = now
        tx.update_promotion(promotion)
        self.core.event(tx, effects, "promotion.updated", promotion_name(promotion.model, promotion.id),
                        promotion.model, caller, promotion)  # fmt: skip

    # -- history -----------------------------------------------------------------------

    async def history(
        self, model_ref: str, stage: str, at: datetime | None, page_size: int, page_token: str
    ) -> History:
        model_id = parse_model_name(model_ref, "model")
        await self.core.require_model(model_id)
        if stage:
            validate_label(stage, "stage")
        limit = min(page_size or 50, 1000)
        before = _int_token(page_token)
        changes = await self.core.read(self.core.catalog.stage_history, model_id, stage, limit + 1, before)
        next_token = str(changes[limit - 1].revision) if len(changes) > limit else ""
        holders = None
        if at is not None:
            holders = await self.core.read(self.core.catalog.holders_at, model_id, at)
            if stage:
                holders = {k: v for k, v in holders.items() if k == stage}
        return History(changes[:limit], holders, next_token)


def _state_filter(text: str) -> str | None:
    """`state = PENDING_APPROVAL` -> the stored state; parsed like every other filter."""
    expr = parse_filter(text, PROMOTION_FIELDS)
    if expr is None:
        return None
    if not (isinstance(expr, Comparison) and expr.op == "=" and isinstance(expr.value, Text)):
        raise InvalidArgument(
            "promotions filter on one state for now, e.g. state = PENDING_APPROVAL",
            reason="INVALID_FILTER",
            field="filter",
        )
    return expr.value.value.lower()


def _earlier_holder_number(model_id: str, text: str) -> int:
    """The number in `7` or `models/m/versions/7` (of this model); anything else is refused."""
    if text.isdigit() and len(text) < 19 and int(text) > 0:
        return int(text)
    ref = parse_version_name(text, "version") if text.startswith("models/") else None
    if ref is None or ref.number is None or ref.model != model_id:
        raise InvalidArgument(f"version must be a version number or models/{model_id}/versions/{{n}}, got {text!r}",
                              reason="INVALID_NAME", field="version")  # fmt: skip
    return ref.number


def _int_token(token: str) -> int | None:
    if not token:
        return None
    if not token.isdigit():
        raise InvalidArgument("page_token is not one this server issued", reason="INVALID_PAGE_TOKEN",
                              field="page_token")  # fmt: skip
    return int(token)


def _refusal(action: str, failed: list[GateResult], model_id: str, number: int, target: str,
             **facts: object) -> FailedPrecondition:  # fmt: skip
    """The one refusal of a promotion or rollback whose gates failed: every failed gate, named."""
    return FailedPrecondition(
        f"{action} refused: " + "; ".join(g.detail for g in failed),
        reason=_reason_of(failed[0]),
        model=model_id,
        version=number,
        target=target,
        gates=",".join(g.gate for g in failed),
        **facts,
    )


def _reason_of(gate: GateResult) -> str:
    return {"version_ready": "VERSION_NOT_READY", "not_current_holder": "ALREADY_HOLDS_TARGET"}.get(
        gate.gate, "GATE_NOT_MET"
    )
