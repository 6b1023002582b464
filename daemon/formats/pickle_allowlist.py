"""Globals a model pickle may reference without being reported: data containers and the
rebuild functions of numpy, scikit-learn, joblib and torch. Everything else is reported."""

from __future__ import annotations

# Exact module.name references. Kept narrow on purpose: whole modules are never trusted
# (numpy.testing, for one, can run arbitrary source).
_EXACT = frozenset(
    {
        # Containers and plain values.
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.bytes",
        "builtins.complex",
        "builtins.slice",
        "builtins.range",
        "builtins.list",
        "builtins.dict",
        "builtins.tuple",
        "builtins.int",
        "builtins.float",
        "builtins.str",
        "builtins.bool",
        "builtins.object",
        "__builtin__.set",
        "__builtin__.frozenset",
        "__builtin__.bytearray",
        "__builtin__.complex",
        "__builtin__.slice",
        "__builtin__.object",
        "copyreg._reconstructor",
        "copy_reg._reconstructor",
        "_codecs.encode",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        # numpy arrays, dtypes, scalars and random states.
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.matrix",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "numpy.ma.core._mareconstruct",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random.mtrand.RandomState",
        "numpy.random._generator.Generator",
        "numpy.random._mt19937.MT19937",
        "numpy.random._pcg64.PCG64",
        "numpy.random._pcg64.PCG64DXSM",
        "numpy.random._philox.Philox",
        "numpy.random._sfc64.SFC64",
        # joblib's array wrappers.
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "joblib.numpy_pickle.NDArrayWrapper",
        "joblib.numpy_pickle_compat.NDArrayWrapper",
        "joblib.numpy_pickle_compat.ZNDArrayWrapper",
        # torch tensors, parameters and their rebuild functions (torch's weights-only set).
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_sparse_tensor",
        "torch._utils._rebuild_nested_tensor",
        "torch._utils._rebuild_device_tensor_from_numpy",
        "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._utils._rebuild_qtensor",
        "torch._utils._rebuild_wrapper_subclass",
        "torch._tensor._rebuild_from_type",
        "torch._tensor._rebuild_from_type_v2",
        "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout",
        "torch.Size",
        "torch.Tensor",
        "torch.device",
        "torch.storage.UntypedStorage",
        "torch.storage.TypedStorage",
        "torch.strided",
        "torch.sparse_coo",
        "torch.contiguous_format",
        "torch.channels_last",
        "torch.preserve_format",
    }
)

_NUMPY_SCALARS = frozenset(
    "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 "
    "longdouble complex64 complex128 clongdouble str_ bytes_ void object_ datetime64 "
    "timedelta64 intc uintc".split()
)
_TORCH_DTYPES = frozenset(
    "float float32 float64 double half float16 bfloat16 int int8 int16 short int32 int64 "
    "long uint8 uint16 uint32 uint64 bool complex64 complex128 cfloat cdouble qint8 quint8 "
    "qint32 float8_e4m3fn float8_e5m2".split()
)
# Packages whose classes (CamelCase names) only build estimator objects from their state.
_CLASS_PACKAGES = ("sklearn.", "scipy.sparse.")


def is_allowed(module: str, name: str) -> bool:
    """True when `module.name` is on the allow-list."""
    if f"{module}.{name}" in _EXACT:
        return True
    if module == "numpy" and name in _NUMPY_SCALARS:
        return True
    if module == "numpy.dtypes" and name.endswith("DType"):
        return True
    if module == "torch" and (name.endswith("Storage") or name in _TORCH_DTYPES):
        return True
    return module.startswith(_CLASS_PACKAGES) and name[:1].isupper() and name.isidentifier()
