"""Enum values a request may carry: only the ones its contract defines.

proto3 keeps any integer it receives in an enum field, so a client built from another
version of the contract (or a hand-made one) can send a value no branch of the daemon
expects; a lookup table would then quietly read it as some default. Every request is
checked here, once, before its handler runs.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from studbook.daemon.domain.errors import InvalidArgument


def refuse_unknown_enums(message: Message, path: str = "") -> None:
    """Raises INVALID_ARGUMENT (reason INVALID_ENUM) at the first enum value not defined."""
    for field, value in message.ListFields():
        where = f"{path}{field.name}"
        if field.type == FieldDescriptor.TYPE_ENUM:
            values = value if _is_repeated(field) else [value]
            for number in values:
                if number not in field.enum_type.values_by_number:
                    known = ", ".join(v.name for v in field.enum_type.values if v.number != 0)
                    raise InvalidArgument(
                        f"{where}: {number} is not a {field.enum_type.name} value; use one of {known}",
                        reason="INVALID_ENUM", field=where, value=number,
                    )  # fmt: skip
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                entries = value.values()
                if field.message_type.fields_by_name["value"].type != FieldDescriptor.TYPE_MESSAGE:
                    continue
                for entry in entries:
                    refuse_unknown_enums(entry, f"{where}.")
            elif _is_repeated(field):
                for index, item in enumerate(value):
                    refuse_unknown_enums(item, f"{where}[{index}].")
            else:
                refuse_unknown_enums(value, f"{where}.")


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)
