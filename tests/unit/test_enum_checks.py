"""Every enum field any request can carry, however deep, is checked: an undefined value there
is refused with its path, and the same request with a defined value passes."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest
import studbook.v1
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.service.enums import refuse_unknown_enums

UNDEFINED = 97
# A field on the way to an enum: its name, and whether it is repeated (reached through [0]).
Step = tuple[str, bool]


def request_types() -> list[Descriptor]:
    """The input message of every method the API serves."""
    found: dict[str, Descriptor] = {}
    for module in pkgutil.iter_modules(studbook.v1.__path__):
        if module.name.endswith("_pb2"):
            descriptor = importlib.import_module(f"studbook.v1.{module.name}").DESCRIPTOR
            for service in descriptor.services_by_name.values():
                for method in service.methods:
                    found[method.input_type.full_name] = method.input_type
    return sorted(found.values(), key=lambda d: d.full_name)


def enum_paths(message_type: Descriptor, on_the_way: frozenset[str] = frozenset()) -> Iterator[list[Step]]:
    """Each way from a message of this type to an enum field, once per message type on the way."""
    for field in message_type.fields:
        repeated = bool(field.is_repeated)
        if field.type == FieldDescriptor.TYPE_ENUM:
            yield [(field.name, repeated)]
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry:
            if field.message_type.full_name not in on_the_way:
                for rest in enum_paths(field.message_type, on_the_way | {message_type.full_name}):
                    yield [(field.name, repeated), *rest]


def with_enum(message_type: Descriptor, path: list[Step], value: int) -> Message:
    message = GetMessageClass(message_type)()
    node = message
    for name, repeated in path[:-1]:
        node = getattr(node, name).add() if repeated else getattr(node, name)
    name, repeated = path[-1]
    if repeated:
        getattr(node, name).append(value)
    else:
        setattr(node, name, value)
    return message


def shown(path: list[Step]) -> str:
    """The field as the refusal names it: version.parents[0].relation."""
    return "".join(f"{name}[0]." if repeated else f"{name}." for name, repeated in path[:-1]) + path[-1][0]


CASES = [(t, p) for t in request_types() for p in enum_paths(t)]


def test_the_api_has_enums_deep_in_its_requests() -> None:
    assert any(len(path) >= 3 for _, path in CASES)  # the walk reaches past the first level


@pytest.mark.parametrize(("request_type", "path"), CASES, ids=[f"{t.name}.{shown(p)}" for t, p in CASES])
def test_an_undefined_value_anywhere_is_refused_with_its_path(request_type: Descriptor, path: list[Step]) -> None:
    with pytest.raises(InvalidArgument) as refused:
        refuse_unknown_enums(with_enum(request_type, path, UNDEFINED))

    assert refused.value.reason == "INVALID_ENUM"
    assert refused.value.metadata == {"field": shown(path), "value": str(UNDEFINED)}


@pytest.mark.parametrize(("request_type", "path"), CASES, ids=[f"{t.name}.{shown(p)}" for t, p in CASES])
def test_a_defined_value_anywhere_passes(request_type: Descriptor, path: list[Step]) -> None:
    refuse_unknown_enums(with_enum(request_type, path, 0))  # every enum of the API defines 0
