"""Pickle verdicts: dangerous globals (code, OS, files, network) wherever they are referenced,
unknown globals for whatever the allow-list does not name, and no flag for the ordinary
classes of torch.nn, scikit-learn, numpy and collections."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.formats import inspect_file
from studbook.daemon.formats.info import DANGEROUS_GLOBAL, UNKNOWN_GLOBAL, UNSAFE_FORMAT

from .builders import pickle_call, pickle_global, pickle_stack_global


def flags_of(tmp_path: Path, data: bytes, name: str = "model.pkl") -> tuple[str, ...]:
    path = tmp_path / name
    path.write_bytes(data)
    return inspect_file(path).flags


DANGEROUS = [
    ("os", "system"),
    ("posix", "system"),
    ("nt", "system"),
    ("subprocess", "Popen"),
    ("subprocess", "check_output"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "compile"),
    ("builtins", "__import__"),
    ("builtins", "getattr"),
    ("builtins", "setattr"),
    ("builtins", "delattr"),
    ("builtins", "open"),
    ("builtins", "breakpoint"),
    ("builtins", "input"),
    ("__builtin__", "eval"),
    ("__builtin__", "apply"),
    ("io", "open"),
    ("_io", "FileIO"),
    ("shutil", "rmtree"),
    ("socket", "create_connection"),
    ("runpy", "run_path"),
    ("importlib", "import_module"),
    ("pty", "spawn"),
    ("webbrowser", "open"),
    ("sys", "exit"),
    ("ctypes", "CDLL"),
    ("multiprocessing", "Process"),
    ("signal", "signal"),
    ("code", "InteractiveInterpreter"),
    ("codeop", "compile_command"),
    ("pickle", "loads"),
    ("_pickle", "loads"),
    ("marshal", "loads"),
    ("types", "FunctionType"),
    ("types", "CodeType"),
    ("operator", "attrgetter"),
    ("operator", "methodcaller"),
    ("_operator", "methodcaller"),
    ("functools", "partial"),
    ("functools", "reduce"),
    ("copyreg", "add_extension"),
    ("copy_reg", "dispatch_table"),
    ("http.client", "HTTPSConnection"),
    ("urllib.request", "urlopen"),
    ("requests.api", "get"),
    ("ftplib", "FTP"),
    ("smtplib", "SMTP"),
    ("tempfile", "mkstemp"),
    ("glob", "glob"),
    ("pathlib", "Path"),
    ("numpy.testing._private.utils", "runstring"),
    ("numpy.f2py", "compile"),
    ("torch.serialization", "load"),
    ("torch", "load"),
    ("torch.storage", "_load_from_bytes"),
    ("uuid", "_get_command_stdout"),
    ("logging", "FileHandler"),
    ("pydoc", "locate"),
    ("pkgutil", "resolve_name"),
    # Re-exports: a harmless-looking module's attribute that is a dangerous callable.
    ("some_package.helpers", "system"),
    ("torch.nn.modules.linear", "os"),
    ("sklearn.tree._classes", "Popen"),
    # Dotted names (protocol 4) that walk dunders to reach globals.
    ("collections", "OrderedDict.__init__.__globals__"),
]


@pytest.mark.parametrize(("module", "name"), DANGEROUS)
@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_a_dangerous_global_is_flagged_even_when_never_called(
    tmp_path: Path, module: str, name: str, protocol: int
) -> None:
    data = pickle_stack_global(module, name) if protocol == 4 else pickle_global(module, name, protocol)

    flags = flags_of(tmp_path, data)

    assert flags == (UNSAFE_FORMAT, f"{DANGEROUS_GLOBAL}{module}.{name}")


def test_a_dangerous_callable_wrapped_in_partial_is_flagged_with_its_wrapper(tmp_path: Path) -> None:
    # functools.partial(os.system, "true")(): the wrapper is what REDUCE calls.
    data = b"\x80\x02cfunctools\npartial\ncos\nsystem\nX\x04\x00\x00\x00true\x86R)R."

    flags = flags_of(tmp_path, data)

    assert f"{DANGEROUS_GLOBAL}os.system" in flags
    assert f"{DANGEROUS_GLOBAL}functools.partial" in flags


def test_a_dangerous_global_deep_in_nested_arguments_and_state_is_flagged(tmp_path: Path) -> None:
    # collections.OrderedDict([("k", [(posix.system,)])]) with a BUILD state that names
    # builtins.exec: allowed outer calls, dangerous references inside.
    data = (
        b"\x80\x02ccollections\nOrderedDict\n"
        b"]X\x01\x00\x00\x00k]cposix\nsystem\n\x85a\x86a\x85R"
        b"}X\x01\x00\x00\x00fcbuiltins\nexec\nsb."
    )

    flags = flags_of(tmp_path, data)

    assert flags == (UNSAFE_FORMAT, f"{DANGEROUS_GLOBAL}posix.system", f"{DANGEROUS_GLOBAL}builtins.exec")


def test_inst_and_obj_references_are_judged_like_globals(tmp_path: Path) -> None:
    inst = b"(S'true'\nios\nsystem\n."
    obj = b"(csubprocess\nPopen\nS'true'\no."

    assert f"{DANGEROUS_GLOBAL}os.system" in flags_of(tmp_path, inst, "inst.pkl")
    assert f"{DANGEROUS_GLOBAL}subprocess.Popen" in flags_of(tmp_path, obj, "obj.pkl")


class Estimator:
    """An ordinary object: protocols 0 and 1 rebuild it through copyreg._reconstructor."""

    def __init__(self) -> None:
        self.coef_ = [0.5, 1.5]


@pytest.mark.parametrize("protocol", [0, 1])
def test_old_protocol_objects_rebuilt_by_copyreg_are_not_dangerous(tmp_path: Path, protocol: int) -> None:
    flags = flags_of(tmp_path, pickle.dumps(Estimator(), protocol=protocol))

    assert flags == (UNSAFE_FORMAT, f"{UNKNOWN_GLOBAL}{__name__}.Estimator")


def test_a_global_named_at_load_time_is_dangerous(tmp_path: Path) -> None:
    # STACK_GLOBAL whose module is the result of a call: nothing honest computes names.
    data = b"\x80\x04\x8c\x08builtins\x94\x8c\x03str\x94\x93)R\x8c\x06system\x93."

    flags = flags_of(tmp_path, data)

    assert f"{DANGEROUS_GLOBAL}<dynamic>.<dynamic>" in flags


def test_a_global_off_the_allow_list_is_unknown_not_dangerous(tmp_path: Path) -> None:
    data = pickle_call("__main__", "Net", b")")

    flags = flags_of(tmp_path, data)

    assert flags == (UNSAFE_FORMAT, f"{UNKNOWN_GLOBAL}__main__.Net")


def test_dangerous_globals_come_before_unknown_ones_and_metadata_lists_both(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x02(c__main__\nNet\ncos\nsystem\nl.")

    info = inspect_file(path)

    assert info.flags == (UNSAFE_FORMAT, f"{DANGEROUS_GLOBAL}os.system", f"{UNKNOWN_GLOBAL}__main__.Net")
    assert info.metadata["unsafe_globals"] == ["__main__.Net", "os.system"]
    assert info.metadata["dangerous_globals"] == ["os.system"]


BENIGN = [
    ("torch.nn.modules.linear", "Linear"),
    ("torch.nn.modules.conv", "Conv2d"),
    ("torch.nn.modules.container", "Sequential"),
    ("torch.nn.modules.container", "ModuleList"),
    ("torch.nn.modules.container", "ModuleDict"),
    ("torch.nn.modules.container", "ParameterDict"),
    ("torch.nn.modules.batchnorm", "BatchNorm1d"),
    ("torch.nn.modules.normalization", "LayerNorm"),
    ("torch.nn.modules.dropout", "Dropout"),
    ("torch.nn.modules.activation", "GELU"),
    ("torch.nn.modules.activation", "MultiheadAttention"),
    ("torch.nn.modules.sparse", "Embedding"),
    ("torch.nn.modules.rnn", "LSTM"),
    ("torch.nn.modules.rnn", "GRU"),
    ("torch.nn.modules.transformer", "TransformerEncoderLayer"),
    ("torch.nn.functional", "relu"),
    ("torch._C._nn", "gelu"),
    ("torch", "tanh"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "FloatStorage"),
    ("torch", "bfloat16"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch.nn.parameter", "Parameter"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("sklearn.ensemble._forest", "RandomForestClassifier"),
    ("sklearn.tree._tree", "Tree"),
    ("sklearn.tree._classes", "DecisionTreeClassifier"),
    ("sklearn.svm._classes", "SVC"),
    ("sklearn.neighbors._classification", "KNeighborsClassifier"),
    ("sklearn.naive_bayes", "GaussianNB"),
    ("sklearn.cluster._kmeans", "KMeans"),
    ("sklearn.decomposition._pca", "PCA"),
    ("sklearn.preprocessing._data", "StandardScaler"),
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.compose._column_transformer", "ColumnTransformer"),
    ("sklearn.feature_extraction.text", "TfidfVectorizer"),
    ("sklearn.impute._base", "SimpleImputer"),
    ("sklearn.neural_network._multilayer_perceptron", "MLPClassifier"),
    ("sklearn.model_selection._search", "GridSearchCV"),
    ("numpy", "dtype"),
    ("numpy.dtypes", "Float64DType"),
    ("numpy", "float32"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("copyreg", "_reconstructor"),
    ("copy_reg", "_reconstructor"),
    ("__builtin__", "bytes"),
    ("numpy.ma", "MaskedArray"),
    ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
    ("sklearn.neighbors._kd_tree", "newObj"),
    ("sklearn.metrics._scorer", "_PassthroughScorer"),
    ("sklearn.metrics._classification", "accuracy_score"),
]


@pytest.mark.parametrize(("module", "name"), BENIGN)
def test_ordinary_framework_classes_raise_no_global_flag(tmp_path: Path, module: str, name: str) -> None:
    assert flags_of(tmp_path, pickle_global(module, name, 2)) == (UNSAFE_FORMAT,)


@pytest.mark.parametrize(
    ("module", "name"),
    [("numpy.testing", "TestCase"), ("sklearn.utils._testing", "TempMemmap"), ("sklearn.linear_model", "logistic"),
     ("sklearn.datasets._base", "Bunch"), ("torch.nn.modules.linear", "F"), ("torch", "Tensor.__reduce_ex__")],
)  # fmt: skip
def test_code_running_modules_and_lowercase_functions_are_not_trusted_by_prefix(
    tmp_path: Path, module: str, name: str
) -> None:
    flags = flags_of(tmp_path, pickle_global(module, name, 2))

    assert len(flags) == 2 and flags[1].endswith(f":{module}.{name}")


_SKLEARN = st.sampled_from(["linear_model", "ensemble", "tree", "svm", "cluster", "preprocessing", "pipeline"])
_CLASS = st.from_regex(r"[A-Z][A-Za-z0-9]{1,20}", fullmatch=True)
_IDENT = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)


@given(package=_SKLEARN, private=_IDENT, name=_CLASS)
def test_any_estimator_class_name_in_an_estimator_package_is_allowed(package: str, private: str, name: str) -> None:
    from studbook.daemon.domain.pickle_danger import is_dangerous
    from studbook.daemon.formats.pickle_allowlist import is_allowed

    module = f"sklearn.{package}.{private}"
    assert is_allowed(module, name) or is_dangerous(module, name)


@given(
    module=st.sampled_from(["os", "posix", "subprocess", "socket", "shutil", "runpy", "importlib", "sys", "ctypes"]),
    sub=st.lists(_IDENT, max_size=2),
    name=_IDENT | _CLASS,
)
def test_every_name_in_a_dangerous_module_or_below_it_is_dangerous(module: str, sub: list[str], name: str) -> None:
    from studbook.daemon.domain.pickle_danger import is_dangerous

    assert is_dangerous(".".join([module, *sub]), name)
