from studbook.v1 import events_pb2 as _events_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerifyAuditTrailRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAuditTrailResponse(_message.Message):
    __slots__ = ("intact", "checked", "head", "broken_revision", "problem")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    BROKEN_REVISION_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    checked: int
    head: str
    broken_revision: int
    problem: str
    def __init__(self, intact: _Optional[bool] = ..., checked: _Optional[int] = ..., head: _Optional[str] = ..., broken_revision: _Optional[int] = ..., problem: _Optional[str] = ...) -> None: ...

class ExportAuditTrailRequest(_message.Message):
    __slots__ = ("start_revision",)
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    def __init__(self, start_revision: _Optional[int] = ...) -> None: ...

class AuditRecord(_message.Message):
    __slots__ = ("event", "chain_hash", "before")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HASH_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    event: _events_pb2.Event
    chain_hash: str
    before: _events_pb2.Event
    def __init__(self, event: _Optional[_Union[_events_pb2.Event, _Mapping]] = ..., chain_hash: _Optional[str] = ..., before: _Optional[_Union[_events_pb2.Event, _Mapping]] = ...) -> None: ...
