"""Globals a model pickle may reference without being reported: data containers and the
rebuild functions of numpy, scikit-learn, joblib and torch, torch.nn modules and
scikit-learn estimators. Everything else is reported (see pickle_danger for the globals
that are reported as dangerous; they win over this list)."""

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
        "collections.ChainMap",
        "collections.UserDict",
        "collections.UserList",
        "collections.UserString",
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
        "__builtin__.bytes",
        "__builtin__.complex",
        "__builtin__.slice",
        "__builtin__.object",
        "__builtin__.list",
        "__builtin__.dict",
        "__builtin__.tuple",
        "__builtin__.int",
        "__builtin__.long",
        "__builtin__.float",
        "__builtin__.str",
        "__builtin__.unicode",
        "__builtin__.bool",
        # Cython's unpickling helper for sklearn's trees and distance metrics:
        # newObj(cls) is cls.__new__(cls), and cls is a reference judged on its own.
        "sklearn.neighbors._kd_tree.newObj",
        "sklearn.neighbors._ball_tree.newObj",
        "sklearn.neighbors._binary_tree.newObj",
        "sklearn.metrics._dist_metrics.newObj",
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
        "numpy.random.bit_generator.SeedSequence",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        "numpy.ma.core.MaskedArray",
        "numpy.ma.MaskedArray",
        # A fitted search's scorer: it holds a metric function, called only when scoring.
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.metrics._scorer._Scorer",
        "sklearn.metrics._scorer._PredictScorer",
        "sklearn.metrics._scorer._ProbaScorer",
        "sklearn.metrics._scorer._ThresholdScorer",
        "sklearn.metrics._scorer._MultimetricScorer",
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
        "torch.nn.parameter.Buffer",
        "torch.nn.parameter.UninitializedParameter",
        "torch.nn.parameter.UninitializedBuffer",
        "torch._utils._rebuild_sparse_csr_tensor",
        "torch.nn.modules.module._IncompatibleKeys",
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
        "torch.sparse_csr",
        "torch.sparse_csc",
        "torch.sparse_bsr",
        "torch.sparse_bsc",
        "torch.per_tensor_affine",
        "torch.per_channel_affine",
        "torch.per_tensor_symmetric",
        "torch.per_channel_symmetric",
        "torch.per_channel_affine_float_qparams",
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
    "qint32 quint4x2 quint2x4 float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz "
    "float8_e8m0fnu complex32 chalf cfloat32 uint1 uint2 uint3 uint4 uint5 uint6 uint7 "
    "int1 int2 int3 int4 int5 int6 int7".split()
)

# torch.nn.functional activations, stored as an attribute (TransformerEncoderLayer's
# activation): tensor-in, tensor-out functions that are only called in forward().
_TORCH_ACTIVATIONS = frozenset(
    "relu relu6 gelu silu mish tanh sigmoid hardtanh hardswish hardsigmoid leaky_relu elu "
    "selu celu glu softplus softsign softmax log_softmax logsigmoid log_sigmoid tanhshrink".split()
)

# torch.nn's module and container classes, by module: unpickling one builds it with
# object.__new__ and fills its __dict__ (Module.__setstate__), running none of its code.
_TORCH_NN_MODULES = frozenset(
    "activation adaptive batchnorm channelshuffle container conv distance dropout flatten "
    "fold instancenorm lazy linear loss module normalization padding pixelshuffle pooling "
    "rnn sparse transformer upsampling".split()
)

# Class-prefix rule: `sklearn.<submodule>[._private...].<CamelCase>` in these estimator
# packages. Safe because every CamelCase name there is an estimator, a transformer or a
# helper class (Tree, loss and link objects): unpickling builds it with object.__new__
# and BaseEstimator.__setstate__ (or a Cython __setstate__ that copies arrays) fills its
# state; none runs a stored callable on load (FunctionTransformer only calls its func
# when transforming). The lowercase functions of these packages, sklearn.utils (test and
# parallel helpers), sklearn.datasets (downloads and files) and sklearn.externals are not
# covered, and pickle_danger still wins over this rule for re-exported names (Popen, ...).
_SKLEARN_PACKAGES = frozenset(
    "linear_model ensemble tree svm neighbors naive_bayes cluster decomposition "
    "preprocessing pipeline compose feature_extraction feature_selection impute "
    "neural_network model_selection discriminant_analysis kernel_ridge gaussian_process "
    "cross_decomposition isotonic manifold mixture semi_supervised calibration multiclass "
    "multioutput covariance random_projection kernel_approximation dummy frozen _loss metrics".split()
)
# Metric functions a scorer refers to: pure computations over arrays.
_METRIC_SUFFIXES = ("_score", "_error", "_loss", "_similarity")
# scipy.sparse matrices and arrays rebuild from their index and data arrays.
_CLASS_PACKAGES = ("scipy.sparse.",)


def _is_class_name(name: str) -> bool:
    # Two letters at least: one-letter capitals are module aliases (torch's `F`).
    # Private classes (_BinMapper) count: a leading underscore hides, it does not run code.
    bare = name.lstrip("_")
    return len(bare) > 1 and bare[:1].isupper() and name.isidentifier()


def _sklearn_estimator(module: str, name: str) -> bool:
    parts = module.split(".")
    return len(parts) >= 2 and parts[0] == "sklearn" and parts[1] in _SKLEARN_PACKAGES and _is_class_name(name)


def _torch_nn_class(module: str, name: str) -> bool:
    parts = module.split(".")
    return (
        len(parts) == 4
        and parts[:3] == ["torch", "nn", "modules"]
        and parts[3] in _TORCH_NN_MODULES
        and _is_class_name(name)
    )


def is_allowed(module: str, name: str) -> bool:
    """True when `module.name` is on the allow-list."""
    if f"{module}.{name}" in _EXACT:
        return True
    if module == "numpy" and name in _NUMPY_SCALARS:
        return True
    if module == "numpy.dtypes" and name.endswith("DType"):
        return True
    if module == "torch" and (name.endswith("Storage") and name.isidentifier() or name in _TORCH_DTYPES):
        return True
    # F.gelu and kin are C builtins named torch._C._nn.gelu; torch.tanh is torch.tanh.
    if module in ("torch.nn.functional", "torch._C._nn", "torch") and name in _TORCH_ACTIVATIONS:
        return True
    if _torch_nn_class(module, name) or _sklearn_estimator(module, name):
        return True
    if module.startswith("sklearn.metrics.") and name.endswith(_METRIC_SUFFIXES) and name.isidentifier():
        return True
    return module.startswith(_CLASS_PACKAGES) and _is_class_name(name)
