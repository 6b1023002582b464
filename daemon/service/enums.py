"""Enum values a request may carry: only the ones its contract defines.

proto3 keeps any integer it receives in an enum field, so a client built from another
version of the contract (or a hand-made one) can send a value no branch of the daemon
expects; a lookup table would then quietly read it as some default. Every request is
checked here, once, before its handler runs.
"""

from __future__ import annotations

import functools

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from studbook.daemon.domain.errors import InvalidArgument


def refuse_unknown_enums(message: Message, path: str = "") -> None:
    """Raises INVALID_ARGUMENT (reason INVALID_ENUM) at the first enum value not defined."""
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_ENUM:
            values = value if _is_repeated(field) else [value]
            for number in values:
                if number not in field.enum_type.values_by_number:
                    where = f"{path}{field.name}"
                    known = ", ".join(v.name for v in field.enum_type.values if v.number != 0)
                    raise InvalidArgument(
                        f"{where}: {number} is not a {field.enum_type.name} value; use one of {known}",
                        reason="INVALID_ENUM", field=where, value=number,
                    )  # fmt: skip
        elif field.type == FieldDescriptor.TYPE_MESSAGE and _holds_enums(field.message_type):
            where = f"{path}{field.name}"
            if field.message_type.GetOptions().map_entry:
                if field.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                    for entry in value.values():
                        refuse_unknown_enums(entry, f"{where}.")
            elif _is_repeated(field):
                for index, item in enumerate(value):
                    refuse_unknown_enums(item, f"{where}[{index}].")
            else:
                refuse_unknown_enums(value, f"{where}.")


@functools.cache
def _holds_enums(message_type: Descriptor) -> bool:
    """Whether a message of this type can carry an enum value, in itself or any message within:
    the others are not walked (a registration's metrics, files and maps of strings)."""
    return _reaches_enum(message_type, set())


def _reaches_enum(message_type: Descriptor, seen: set[str]) -> bool:
    if message_type.full_name in seen:  # a message type that contains itself
        return False
    seen.add(message_type.full_name)
    for field in message_type.fields:
        if field.type == FieldDescriptor.TYPE_ENUM:
            return True
        if field.type == FieldDescriptor.TYPE_MESSAGE and _reaches_enum(field.message_type, seen):
            return True
    return False


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)
