"""The `:` command line: parse `:versions fraud`, `:diff fraud@2 fraud@3`, `:q` into a `Command`.

Pure text handling; the app decides what each command does.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from studbook.client import names


class CommandError(ValueError):
    """Text that is not a command; the message says what would be."""


@dataclass(frozen=True)
class Spec:
    verb: str
    aliases: tuple[str, ...]
    # Argument kinds in order: "model", "version", "text"; a trailing "?" marks it optional.
    args: tuple[str, ...]
    help: str
    changes_state: bool = False

    @property
    def usage(self) -> str:
        shown = [f"[{a[:-1].upper()}]" if a.endswith("?") else a.upper() for a in self.args]
        return " ".join([f":{self.verb}", *shown])


SPECS: tuple[Spec, ...] = (
    Spec("models", ("m",), (), "list the models"),
    Spec("versions", ("v",), ("model",), "list the versions of a model"),
    Spec("show", ("open", "o"), ("version",), "open a version (MODEL@N, a stage, an alias, latest)"),
    Spec("diff", ("d",), ("version", "version?"), "compare two versions (one: against production)"),
    Spec("lineage", ("l",), ("version",), "open the lineage of a version"),
    Spec("promote", ("p",), ("version", "text?"), "promote a version to a stage or alias", changes_state=True),
    Spec("rollback", (), ("model", "text?"), "put the previous holder of a stage back", changes_state=True),
    Spec("drops", (), (), "quarantined drop-ins"),
    Spec("approvals", ("pending",), (), "promotions waiting for approval"),
    Spec("help", ("h", "?"), (), "list the bindings of this screen"),
    Spec("quit", ("q", "q!", "exit"), (), "leave studbook"),
)


@dataclass(frozen=True)
class Command:
    """A parsed command: its verb (canonical) and its arguments, resource names resolved."""

    verb: str
    args: tuple[str, ...] = ()


def find_spec(word: str) -> Spec | None:
    word = word.lower()
    for spec in SPECS:
        if word == spec.verb or word in spec.aliases:
            return spec
    return None


def parse_command(text: str, *, readonly: bool = False) -> Command:
    """`:versions fraud` -> Command("versions", ("fraud",)); raises CommandError with a hint."""
    try:
        words = shlex.split(text.strip().removeprefix(":"))
    except ValueError as error:
        raise CommandError(f"cannot read the command: {error}") from None
    if not words:
        raise CommandError("type a command, e.g. :models, :versions NAME, :diff A B, :q")
    spec = find_spec(words[0])
    if spec is None:
        known = ", ".join(f":{s.verb}" for s in SPECS if not (readonly and s.changes_state))
        raise CommandError(f"unknown command :{words[0]}; known: {known}")
    if readonly and spec.changes_state:
        raise CommandError(f":{spec.verb} changes the registry, and this UI is read-only")
    given = words[1:]
    required = [a for a in spec.args if not a.endswith("?")]
    if not len(required) <= len(given) <= len(spec.args):
        raise CommandError(f"usage: {spec.usage}")
    return Command(spec.verb, tuple(_argument(kind.rstrip("?"), word) for kind, word in zip(spec.args, given)))


def _argument(kind: str, word: str) -> str:
    """A model id (`fraud`) or a short version reference (`fraud@3`), checked for shape."""
    if kind == "text":
        return word
    try:
        ref = names.parse_ref(word)
    except names.InvalidName as error:
        raise CommandError(str(error)) from None
    if kind == "model":
        if ref.is_version:
            raise CommandError(f"expected a model, got the version {word!r}")
        return ref.model
    return names.text_of(ref if ref.is_version else names.Ref(ref.model, names.LATEST))
