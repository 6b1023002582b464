"""The pickle scanner's stack machine: replays opcode stack effects over inert placeholders.

pickletools.genops decodes the opcodes; this machine follows where values go so that
STACK_GLOBAL names, object states (scikit-learn records its version there), torch tensor
shapes and joblib's inline arrays can be read. Nothing is imported, called or constructed.
"""

from __future__ import annotations

import pickletools
import re
from dataclasses import dataclass, field
from typing import IO, Any, cast

from studbook.daemon.domain.pickle_danger import DYNAMIC, is_dangerous
from studbook.daemon.formats import dtypes
from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.limits import Limits
from studbook.daemon.formats.pickle_allowlist import is_allowed
from studbook.daemon.formats.pickle_stream import PickleStream

_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_VERSION_KEY = re.compile(r"_([a-z][a-z0-9]*)_version")
_LIBRARY_NAMES = {"sklearn": "scikit-learn"}
# torch.save's tensor rebuild functions: (storage, offset, size, stride, ...).
_TENSOR_REBUILDERS = frozenset(
    {"torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3"}
)
# Joblib nests a pickle per object array; deeper nesting is not something joblib writes.
_MAX_NESTED = 8


# --- placeholders the stack machine builds instead of objects -------------------------


class _Mark:
    __slots__ = ()


class _Unknown:
    __slots__ = ()


_MARK = _Mark()
_UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Global:
    module: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


class Call:
    """The result of calling `func` (REDUCE, NEWOBJ, OBJ, INST); BUILD and SETITEMS on it
    are recorded, not applied."""

    __slots__ = ("func", "args", "state", "items")

    def __init__(self, func: Any, args: Any) -> None:
        self.func = func
        self.args = args
        self.state: Any = None
        self.items: dict[Any, Any] = {}


class Persistent:
    __slots__ = ("pid",)

    def __init__(self, pid: Any) -> None:
        self.pid = pid


@dataclass(frozen=True)
class TensorRef:
    dtype: str
    shape: tuple[int, ...]
    storage: str
    offset: int

    @property
    def numel(self) -> int:
        total = 1
        for dim in self.shape:
            total *= dim
        return total


def _func_name(value: Any) -> str:
    if isinstance(value, Call):
        value = value.func
    return value.qualified if isinstance(value, Global) else ""


# --- the scan -----------------------------------------------------------------------------


@dataclass
class ScanResult:
    globals: dict[str, None] = field(default_factory=dict)  # in first-seen order
    unsafe: dict[str, None] = field(default_factory=dict)  # not allowed: dangerous or unknown
    dangerous: dict[str, None] = field(default_factory=dict)
    library_versions: dict[str, str] = field(default_factory=dict)
    tensors: list[TensorRef] = field(default_factory=list)
    roots: list[Any] = field(default_factory=list)
    protocol: int | None = None
    streams: int = 0
    arrays: int = 0
    ops: int = 0


class _Machine:
    """Replays opcodes over placeholders; one instance per pickle stream."""

    def __init__(self, stream: PickleStream, result: ScanResult, limits: Limits, nesting: int) -> None:
        self.stream = stream
        self.result = result
        self.limits = limits
        self.nesting = nesting
        self.stack: list[Any] = []
        self.memo: dict[int, Any] = {}

    # stack helpers
    def pop(self) -> Any:
        if not self.stack or self.stack[-1] is _MARK:
            raise FormatError("BAD_PICKLE", "pickle stack underflow")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index] is _MARK:
                items = self.stack[index + 1 :]
                del self.stack[index:]
                return items
        raise FormatError("BAD_PICKLE", "pickle MARK missing")

    def top(self) -> Any:
        if not self.stack or self.stack[-1] is _MARK:
            raise FormatError("BAD_PICKLE", "pickle stack underflow")
        return self.stack[-1]

    def run(self) -> Any:
        # genops only calls read, readline and tell, which the stream provides within bounds.
        for opcode, arg, _ in pickletools.genops(cast(IO[bytes], self.stream)):
            self.result.ops += 1
            if self.result.ops > self.limits.max_pickle_ops:
                raise FormatError(
                    "PICKLE_TOO_LARGE",
                    f"pickle has more than {self.limits.max_pickle_ops} opcodes",
                )
            if opcode.name == "STOP":
                return self.pop()
            self.step(opcode, arg)
        raise FormatError("TRUNCATED", "pickle ends without STOP")

    def step(self, opcode: pickletools.OpcodeInfo, arg: Any) -> None:
        name = opcode.name
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(self, arg)
        elif name in _CONSTANTS:
            self.stack.append(arg)
        else:
            self.generic(opcode)

    def generic(self, opcode: pickletools.OpcodeInfo) -> None:
        """Any other opcode: pop and push as many unknowns as its declared stack effect."""
        before = opcode.stack_before
        if pickletools.markobject in before:
            self.pop_mark()
            before = before[: before.index(pickletools.markobject)]
        for _ in before:
            self.pop()
        self.stack.extend(_UNKNOWN for _ in opcode.stack_after)

    # references
    def reference(self, module: Any, name: Any) -> Global:
        if isinstance(module, str) and isinstance(name, str):
            ref = Global(module[:200], name[:200])
        else:
            ref = Global(DYNAMIC, DYNAMIC)
        qualified = ref.qualified
        self.result.globals.setdefault(qualified, None)
        # Every reference counts, called or not: a dangerous callable handed to a wrapper
        # (functools.partial, copyreg, a nested REDUCE argument) runs all the same.
        if is_dangerous(ref.module, ref.name):
            self.result.dangerous.setdefault(qualified, None)
            self.result.unsafe.setdefault(qualified, None)
        elif not (_DOTTED.fullmatch(ref.module) and is_allowed(ref.module, ref.name)):
            self.result.unsafe.setdefault(qualified, None)
        return ref

    def call(self, func: Any, args: Any) -> Any:
        name = _func_name(func) if isinstance(func, Global) else ""
        if name in _TENSOR_REBUILDERS:
            tensor = _tensor_ref(args)
            if tensor is not None:
                self.result.tensors.append(tensor)
                return tensor
        if name == "torch._utils._rebuild_parameter" and isinstance(args, tuple) and args:
            if isinstance(args[0], TensorRef):
                return args[0]
        return Call(func, args)

    def build(self, obj: Any, state: Any) -> None:
        if isinstance(obj, Call):
            obj.state = state
        if isinstance(state, tuple) and state and isinstance(state[0], dict):
            state = state[0]
        if isinstance(state, dict):
            for key, value in state.items():
                match = _VERSION_KEY.fullmatch(key) if isinstance(key, str) else None
                if match and isinstance(value, str) and len(value) <= 64:
                    library = _LIBRARY_NAMES.get(match.group(1), match.group(1))
                    self.result.library_versions.setdefault(library, value)
        if _func_name(obj) == "joblib.numpy_pickle.NumpyArrayWrapper" and isinstance(state, dict):
            self.skip_joblib_array(state)

    def skip_joblib_array(self, state: dict[Any, Any]) -> None:
        """joblib writes array bytes right after the wrapper's BUILD; pass over them."""
        self.result.arrays += 1
        shape = state.get("shape")
        itemsize, has_object = _numpy_itemsize(state.get("dtype"))
        if has_object:
            if self.nesting >= _MAX_NESTED:
                raise FormatError("BAD_PICKLE", "joblib object arrays nest too deeply")
            # Object arrays are a nested pickle stream of their own.
            _Machine(self.stream, self.result, self.limits, self.nesting + 1).run()
            return
        if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape) or itemsize <= 0:
            raise FormatError("BAD_PICKLE", "joblib array wrapper without a readable shape and dtype")
        count = 1
        for dim in shape:
            count *= dim
        if "numpy_array_alignment_bytes" in state:
            padding = self.stream.read(1)
            if padding:
                self.stream.skip(padding[0])
        needed = count * itemsize
        if self.stream.skip(needed) != needed:
            raise FormatError("TRUNCATED", "joblib array data ends early")


def _numpy_itemsize(dtype: Any) -> tuple[int, bool]:
    """(bytes per element, holds objects) of a pickled numpy.dtype call."""
    if not isinstance(dtype, Call) or not isinstance(dtype.args, tuple) or not dtype.args:
        return 0, False
    typestr = dtype.args[0]
    if not isinstance(typestr, str):
        return 0, False
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    flags = state[7] if len(state) > 7 and type(state[7]) is int else 0
    has_object = typestr.startswith("O") or bool(flags & 1)
    if len(state) > 5 and type(state[5]) is int and state[5] > 0:
        return state[5], has_object
    digits = re.search(r"\d+", typestr)
    return (int(digits.group()) if digits else 0), has_object


def _tensor_ref(args: Any) -> TensorRef | None:
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) -> a TensorRef."""
    if not isinstance(args, tuple) or len(args) < 3:
        return None
    storage, offset, size = args[0], args[1], args[2]
    if not isinstance(storage, Persistent) or not isinstance(size, tuple):
        return None
    if not all(type(d) is int and d >= 0 for d in size):
        return None
    pid = storage.pid
    dtype, key = "", ""
    if isinstance(pid, tuple) and len(pid) >= 3:
        if isinstance(pid[1], Global):
            dtype = dtypes.TORCH_STORAGE.get(pid[1].name, "")
        key = pid[2] if isinstance(pid[2], str) else ""
    if len(args) > 6 and isinstance(args[6], Global) and args[6].module == "torch":
        dtype = dtype if dtype and dtype != "uint8" else args[6].name
    return TensorRef(dtype, size, key[:64], offset if type(offset) is int else 0)


def _safe_key(key: Any) -> Any:
    """Dict keys are kept only when hashing them cannot recurse (primitives)."""
    if key is None or isinstance(key, (str, int, float, bytes)):
        return key
    return _UNKNOWN


# --- opcode handlers ----------------------------------------------------------------------

# Opcodes that push their decoded argument.
_CONSTANTS = frozenset(
    "INT BININT BININT1 BININT2 LONG LONG1 LONG4 FLOAT BINFLOAT STRING BINSTRING "
    "SHORT_BINSTRING BINBYTES SHORT_BINBYTES BINBYTES8 BYTEARRAY8 UNICODE "
    "SHORT_BINUNICODE BINUNICODE BINUNICODE8".split()
)


def _push(value: Any) -> Any:
    return lambda m, _arg: m.stack.append(value)


def _global(m: _Machine, arg: Any) -> None:
    module, _, name = str(arg).partition(" ")
    m.stack.append(m.reference(module, name))


def _stack_global(m: _Machine, _arg: Any) -> None:
    name = m.pop()
    module = m.pop()
    m.stack.append(m.reference(module, name))


def _inst(m: _Machine, arg: Any) -> None:
    module, _, name = str(arg).partition(" ")
    args = tuple(m.pop_mark())
    m.stack.append(m.call(m.reference(module, name), args))


def _obj(m: _Machine, _arg: Any) -> None:
    items = m.pop_mark()
    if not items:
        raise FormatError("BAD_PICKLE", "OBJ without a class")
    m.stack.append(m.call(items[0], tuple(items[1:])))


def _ext(m: _Machine, arg: Any) -> None:
    # Extension codes name globals registered at run time: unknowable, so reported.
    m.stack.append(m.reference("<extension>", str(arg)))


def _reduce(m: _Machine, _arg: Any) -> None:
    args = m.pop()
    func = m.pop()
    m.stack.append(m.call(func, args))


def _newobj(m: _Machine, _arg: Any) -> None:
    args = m.pop()
    cls = m.pop()
    m.stack.append(m.call(cls, args))


def _newobj_ex(m: _Machine, _arg: Any) -> None:
    m.pop()  # kwargs
    args = m.pop()
    cls = m.pop()
    m.stack.append(m.call(cls, args))


def _build(m: _Machine, _arg: Any) -> None:
    state = m.pop()
    m.build(m.top(), state)


def _setitems(m: _Machine, pairs: list[Any]) -> None:
    target = m.top()
    mapping = target if isinstance(target, dict) else target.items if isinstance(target, Call) else None
    if mapping is None:
        return
    for index in range(0, len(pairs) - 1, 2):
        key = _safe_key(pairs[index])
        if key is not _UNKNOWN:
            mapping[key] = pairs[index + 1]


def _setitem(m: _Machine, _arg: Any) -> None:
    value = m.pop()
    key = m.pop()
    _setitems(m, [key, value])


def _setitems_op(m: _Machine, _arg: Any) -> None:
    _setitems(m, m.pop_mark())


def _append(m: _Machine, _arg: Any) -> None:
    value = m.pop()
    target = m.top()
    if isinstance(target, list):
        target.append(value)


def _appends(m: _Machine, _arg: Any) -> None:
    values = m.pop_mark()
    target = m.top()
    if isinstance(target, list):
        target.extend(values)


def _dict(m: _Machine, _arg: Any) -> None:
    items = m.pop_mark()
    m.stack.append({})
    _setitems(m, items)


def _tuple_n(n: int) -> Any:
    def handler(m: _Machine, _arg: Any) -> None:
        items = [m.pop() for _ in range(n)]
        m.stack.append(tuple(reversed(items)))

    return handler


def _put(m: _Machine, arg: Any) -> None:
    m.memo[int(arg)] = m.top()


def _memoize(m: _Machine, _arg: Any) -> None:
    m.memo[len(m.memo)] = m.top()


def _get(m: _Machine, arg: Any) -> None:
    if arg not in m.memo:
        raise FormatError("BAD_PICKLE", f"pickle memo key {arg} is unset")
    m.stack.append(m.memo[arg])


def _binpersid(m: _Machine, _arg: Any) -> None:
    m.stack.append(Persistent(m.pop()))


def _proto(m: _Machine, arg: Any) -> None:
    if m.result.protocol is None:
        m.result.protocol = int(arg)


def _dup(m: _Machine, _arg: Any) -> None:
    m.stack.append(m.top())


def _pop(m: _Machine, _arg: Any) -> None:
    if m.stack and m.stack[-1] is _MARK:
        m.stack.pop()  # POP of a bare mark is allowed by the real unpickler
    else:
        m.pop()


_HANDLERS: dict[str, Any] = {
    "NONE": _push(None),
    "NEWTRUE": _push(True),
    "NEWFALSE": _push(False),
    "MARK": lambda m, _a: m.stack.append(_MARK),
    "EMPTY_LIST": lambda m, _a: m.stack.append([]),
    "EMPTY_DICT": lambda m, _a: m.stack.append({}),
    "EMPTY_TUPLE": _push(()),
    "EMPTY_SET": lambda m, _a: m.stack.append([]),
    "LIST": lambda m, _a: m.stack.append(m.pop_mark()),
    "TUPLE": lambda m, _a: m.stack.append(tuple(m.pop_mark())),
    "FROZENSET": lambda m, _a: m.stack.append(m.pop_mark()),
    "ADDITEMS": _appends,
    "TUPLE1": _tuple_n(1),
    "TUPLE2": _tuple_n(2),
    "TUPLE3": _tuple_n(3),
    "DICT": _dict,
    "APPEND": _append,
    "APPENDS": _appends,
    "SETITEM": _setitem,
    "SETITEMS": _setitems_op,
    "POP": _pop,
    "POP_MARK": lambda m, _a: m.pop_mark(),
    "DUP": _dup,
    "GET": _get,
    "BINGET": _get,
    "LONG_BINGET": _get,
    "PUT": _put,
    "BINPUT": _put,
    "LONG_BINPUT": _put,
    "MEMOIZE": _memoize,
    "GLOBAL": _global,
    "STACK_GLOBAL": _stack_global,
    "INST": _inst,
    "OBJ": _obj,
    "EXT1": _ext,
    "EXT2": _ext,
    "EXT4": _ext,
    "REDUCE": _reduce,
    "NEWOBJ": _newobj,
    "NEWOBJ_EX": _newobj_ex,
    "BUILD": _build,
    "BINPERSID": _binpersid,
    "PERSID": lambda m, arg: m.stack.append(Persistent(arg)),
    "PROTO": _proto,
    "FRAME": lambda m, _a: None,
}


def scan(stream: PickleStream, limits: Limits) -> ScanResult:
    """Scan consecutive pickle streams (legacy torch.save writes several) until data ends."""
    result = ScanResult()
    try:
        while result.streams < limits.max_pickle_streams:
            root = _Machine(stream, result, limits, nesting=0).run()
            result.streams += 1
            if len(result.roots) < limits.max_pickle_streams:
                result.roots.append(root)
            following = stream.peek(1)
            # Only another PROTO-led pickle continues the scan; anything else is raw data.
            if following != b"\x80":
                break
    except ValueError as err:
        # genops reports malformed arguments and unknown opcodes as ValueError.
        if result.streams == 0 or not is_legacy_torch(result):
            if not stream.peek(1):
                raise FormatError("TRUNCATED", f"pickle ends at byte {stream.tell()} before STOP") from None
            raise FormatError("BAD_PICKLE", f"malformed pickle at byte {stream.tell()}: {err}") from None
    return result


def is_legacy_torch(result: ScanResult) -> bool:
    return bool(result.roots) and type(result.roots[0]) is int and result.roots[0] == _TORCH_LEGACY_MAGIC
