"""Use cases on access: who a caller is, tokens created and revoked, refused calls recorded."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import replace
from datetime import timedelta

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.domain.access import (
    TOKEN_PREFIX,
    UNIX,
    Caller,
    Denial,
    Role,
    Token,
    anonymous,
    check_token,
    hash_secret,
    parse_bearer,
    validate_display_name,
)
from studbook.daemon.domain.errors import AlreadyExists, InvalidArgument, NotFound, RegistryError, Unauthenticated
from studbook.daemon.domain.model import Event
from studbook.daemon.store.interface import StoreTransaction as Transaction

MAX_TTL_SECONDS = 10 * 365 * 24 * 3600
# Refused calls are recorded in bursts of up to DENIAL_BURST, then at most DENIALS_PER_SECOND;
# the rest are counted into the next record, so a flood cannot fill the disk or starve writes.
DENIAL_BURST = 200
DENIALS_PER_SECOND = 20.0


class DenialBudget:
    """A token bucket over refused calls: which to record, and how many went unrecorded."""

    def __init__(self, rate: float = DENIALS_PER_SECOND, burst: int = DENIAL_BURST) -> None:
        self.rate = rate
        self.burst = burst
        self.allowance = float(burst)
        self.last = time.monotonic()
        self.suppressed = 0

    def take(self, now: float) -> int | None:
        """The count suppressed since the last record when this one may be recorded, else None."""
        self.allowance = min(self.burst, self.allowance + (now - self.last) * self.rate)
        self.last = now
        if self.allowance < 1:
            self.suppressed += 1
            return None
        self.allowance -= 1
        suppressed, self.suppressed = self.suppressed, 0
        return suppressed


class AccessUseCases:
    def __init__(self, core: Core) -> None:
        self.core = core
        # Read on every call, so kept in memory; replaced after each committed change.
        self.tokens: dict[str, Token] = {t.id: t for t in core.catalog.load_tokens()}
        self.denials = DenialBudget()
        self._tokens_lock = threading.Lock()
        core.remote_hooks.append(self._tokens_changed_elsewhere)

    def _tokens_changed_elsewhere(self, events: list[Event]) -> None:
        """Another daemon on the shared catalog created or revoked tokens: read them again. A
        token only ever goes from valid to revoked, so the merge keeps a revocation whichever
        side saw it first, and a token this daemon just created is kept though the read missed it."""
        if not any(event.type.startswith("token.") for event in events):
            return
        loaded = self.core.catalog.load_tokens()
        with self._tokens_lock:
            for token in loaded:
                known = self.tokens.get(token.id)
                if known is None or known.revoke_time is None:
                    self.tokens[token.id] = token

    def _keep_token(self, token: Token) -> None:
        with self._tokens_lock:  # against a merge of tokens read before this change (above)
            self.tokens[token.id] = token

    # -- who is calling ---------------------------------------------------------------------

    def identify(self, transport: str, authorization: str | None, claimed_actor: str) -> Caller:
        """Who is calling: a token's holder, or over the unix socket without a token, the local
        owner as an admin (socket and folder permissions keep everyone else out). Raises
        Unauthenticated for a bad token, or for no token over TCP."""
        if authorization is not None:
            token_id, presented = parse_bearer(authorization)
            return check_token(self.tokens.get(token_id), presented, self.core.clock(), transport)
        if transport == UNIX:
            return Caller(claimed_actor or "local", Role.ADMIN, UNIX)
        raise Unauthenticated("calls over TCP need a token: send `authorization: Bearer <token>`",
                              reason="TOKEN_MISSING")  # fmt: skip

    async def record_denial(self, caller: Caller | None, transport: str, method: str, code: str,
                            error: RegistryError, peer: str) -> None:  # fmt: skip
        suppressed = self.denials.take(time.monotonic())
        if suppressed is None:
            return
        # A revoked or expired token still names its holder; an unknown one names nobody.
        who = caller or (Caller(error.metadata["token"], Role.NONE, transport) if "token" in error.metadata
                         else anonymous(transport))  # fmt: skip
        denial = Denial(method=method, code=code, reason=error.reason, peer=peer[:200], suppressed=suppressed)

        def operation(tx: Transaction) -> Effects:
            effects = Effects()
            self.core.event(tx, effects, "access.denied", method, "", who, denial)
            return effects

        await self.core.write(operation)

    # -- tokens -----------------------------------------------------------------------------

    async def create_token(self, display_name: str, role: Role, ttl_seconds: int, caller: Caller) -> tuple[Token, str]:
        validate_display_name(display_name)
        if role is Role.NONE:
            raise InvalidArgument("a token needs a role: viewer, contributor, maintainer, approver or admin",
                                  reason="INVALID_ROLE", field="role")  # fmt: skip
        if not 0 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise InvalidArgument(f"ttl_seconds must be from 0 (never expires) to {MAX_TTL_SECONDS}",
                                  reason="INVALID_ARGUMENT", field="ttl_seconds")  # fmt: skip
        token_id = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"

        def operation(tx: Transaction) -> Effects:
            if tx.token_name_taken(display_name):
                raise AlreadyExists(f"a token named {display_name!r} exists (names are never reused, even "
                                    "after a revocation, so the audit trail stays unambiguous)",
                                    reason="TOKEN_NAME_TAKEN", display_name=display_name)  # fmt: skip
            now = self.core.clock()
            token = Token(token_id, display_name, role, hash_secret(secret), now, caller.actor,
                          now + timedelta(seconds=ttl_seconds) if ttl_seconds else None)  # fmt: skip
            tx.insert_token(token)
            effects = Effects(value=token)
            self.core.event(tx, effects, "token.created", token.name, "", caller, token)
            return effects

        token: Token = await self.core.write(operation)
        self._keep_token(token)
        return token, secret

    async def revoke_token(self, name: str, caller: Caller) -> Token:
        token = self.find(name)
        if token.revoke_time is not None:
            return token

        def operation(tx: Transaction) -> Effects:
            now = self.core.clock()
            revoked = replace(token, revoke_time=now, revoker=caller.actor)
            tx.revoke_token(token.id, now, caller.actor)
            effects = Effects(value=revoked)
            self.core.event(tx, effects, "token.revoked", token.name, "", caller, revoked)
            return effects

        revoked: Token = await self.core.write(operation)
        self._keep_token(revoked)
        return revoked

    def list_tokens(self, show_revoked: bool) -> list[Token]:
        found = (t for t in self.tokens.values() if show_revoked or t.revoke_time is None)
        return sorted(found, key=lambda t: (t.create_time, t.id))

    def find(self, name: str) -> Token:
        """A token by `tokens/{id}` or by its display name."""
        token_id = name.removeprefix("tokens/")
        token = self.tokens.get(token_id) or next((t for t in self.tokens.values() if t.display_name == name), None)
        if token is None:
            raise NotFound(f"no token named {name[:80]!r}", reason="TOKEN_NOT_FOUND", name=name[:80])
        return token
