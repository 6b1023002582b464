"""Pickle globals that run code or reach the OS, the file system or the network when a
pickle is loaded: named once here so every reader and every verdict agrees (the pickle
scanner flags them; domain.safety reads the flags older daemons wrote by the same rule).

Generous on purpose. A global is dangerous when its module is one of _MODULES (or inside
one), when it is one of _NAMES, when its name alone is one of _ANY_MODULE_NAMES (modules
re-export what they import: `some.module.system` may well be os.system), or when it walks
dunder attributes (`name.__globals__`) that lead anywhere. Being referenced is enough: a
dangerous callable does harm when wrapped (functools.partial, copyreg, nested REDUCE
arguments) as surely as when it is called directly, so the scan never asks how it is used.
"""

from __future__ import annotations

# Whole modules: importing any of their names gives code execution, processes, files,
# network access or another unpickler.
_MODULES = frozenset(
    {
        # Processes and the OS (uuid's helpers run commands; the common scanners refuse
        # the whole module, UUID included, and agreeing with them matters more).
        "os",
        "posix",
        "nt",
        "subprocess",
        "pty",
        "commands",
        "popen2",
        "signal",
        "multiprocessing",
        "concurrent",
        "_posixsubprocess",
        "resource",
        "sys",
        "_osx_support",
        "_aix_support",
        "platform",
        "uuid",
        "ctypes",
        "_ctypes",
        "cffi",
        "threading",
        "_thread",
        "thread",
        "atexit",
        "faulthandler",
        "gc",
        # Running source or code objects.
        "runpy",
        "code",
        "codeop",
        "types",
        "marshal",
        "importlib",
        "imp",
        "pkgutil",
        "zipimport",
        "pdb",
        "bdb",
        "cProfile",
        "profile",
        "timeit",
        "trace",
        "doctest",
        "pydoc",
        "idlelib",
        "lib2to3",
        "test",
        "ensurepip",
        "pip",
        "venv",
        "distutils",
        "setuptools",
        "_pyrepl",
        "rlcompleter",
        "inspect",
        "cloudpickle",
        "dill",
        "IPython",
        "numpy.f2py",
        "numpy.testing",
        "numpy.distutils",
        "numpy.ctypeslib",
        "torch.serialization",
        "torch.jit",
        "torch._dynamo",
        "torch._inductor",
        "torch.fx",
        "torch.utils",
        "torch.hub",
        "torch.package",
        "torch.ops",
        "torch.library",
        "torch.cuda",
        "torch.distributed",
        "torch.multiprocessing",
        "sklearn.utils._testing",
        "sklearn.externals",
        "joblib.parallel",
        "joblib.externals",
        "_pickle",
        "pickle",
        "cPickle",
        "shelve",
        "dbm",
        # Files and the file system.
        "io",
        "_io",
        "shutil",
        "tempfile",
        "glob",
        "pathlib",
        "fileinput",
        "filecmp",
        "linecache",
        "tarfile",
        "zipfile",
        "gzip",
        "bz2",
        "lzma",
        "mmap",
        "sqlite3",
        "logging.handlers",
        "logging.config",
        "mailbox",
        "netrc",
        "fcntl",
        # Network.
        "socket",
        "_socket",
        "ssl",
        "select",
        "selectors",
        "asyncio",
        "asyncore",
        "asynchat",
        "http",
        "httplib",
        "urllib",
        "urllib2",
        "urllib3",
        "requests",
        "aiohttp",
        "httpx",
        "ftplib",
        "smtplib",
        "smtpd",
        "poplib",
        "imaplib",
        "nntplib",
        "telnetlib",
        "xmlrpc",
        "socketserver",
        "webbrowser",
        "wsgiref",
    }
)

# Single names in modules that are otherwise harmless or trusted.
_NAMES = frozenset(
    {
        # builtins under both spellings.
        *(
            f"{module}.{name}"
            for module in ("builtins", "__builtin__", "__builtins__")
            for name in (
                "eval",
                "exec",
                "execfile",
                "compile",
                "__import__",
                "getattr",
                "setattr",
                "delattr",
                "open",
                "file",
                "breakpoint",
                "input",
                "raw_input",
                "apply",
                "reload",
                "globals",
                "locals",
                "vars",
                "help",
                "exit",
                "quit",
                "__loader__",
                "__spec__",
                "__build_class__",
            )
        ),
        # Call wrappers: they call whatever they are handed, later.
        "functools.partial",
        "functools.partialmethod",
        "functools.reduce",
        "functools.singledispatch",
        "functools.cached_property",
        "functools.wraps",
        "_functools.partial",
        "_functools.reduce",
        "operator.attrgetter",
        "operator.methodcaller",
        "operator.itemgetter",
        "operator.call",
        "_operator.attrgetter",
        "_operator.methodcaller",
        "_operator.itemgetter",
        "_operator.call",
        "logging.FileHandler",
        "logging.basicConfig",
        "logging.config",
        # copyreg's registries: a pickle that edits them changes what later pickles load.
        # (_reconstructor, which protocols 0 and 1 use for every object, stays allowed.)
        *(
            f"{module}.{name}"
            for module in ("copyreg", "copy_reg")
            for name in (
                "add_extension",
                "remove_extension",
                "clear_extension_cache",
                "pickle",
                "constructor",
                "dispatch_table",
                "_extension_registry",
                "_inverted_registry",
                "_extension_cache",
                "__newobj_ex__",
            )
        ),
        "numpy.load",
        "numpy.loadtxt",
        "numpy.genfromtxt",
        "numpy.fromfile",
        "numpy.save",
        "numpy.savetxt",
        "numpy.tofile",
        "numpy.memmap",
        "numpy.lib.npyio.load",
        "numpy.lib._npyio_impl.load",
        "numpy.core.multiarray.fromfile",
        "numpy._core.multiarray.fromfile",
        "joblib.load",
        "joblib.dump",
        "joblib.numpy_pickle.load",
        "joblib.numpy_pickle.dump",
        "torch.load",
        "torch.save",
        "torch.compile",
        "torch.classes",
        "torch._C._jit_compile",
        "torch.storage._load_from_bytes",
        "pandas.read_pickle",
        "pandas.io.pickle.read_pickle",
        "pandas.eval",
        "pandas.core.computation.eval.eval",
    }
)

# Names dangerous under any module: a module's attributes include what it imported.
_ANY_MODULE_NAMES = frozenset(
    {
        "system",
        "popen",
        "Popen",
        "spawn",
        "spawnv",
        "spawnl",
        "spawnve",
        "spawnlp",
        "execv",
        "execve",
        "execl",
        "execvp",
        "execlp",
        "fork",
        "forkpty",
        "kill",
        "killpg",
        "check_output",
        "check_call",
        "getoutput",
        "getstatusoutput",
        "run_path",
        "run_module",
        "_run_code",
        "eval",
        "exec",
        "execfile",
        "compile",
        "__import__",
        "import_module",
        "load_module",
        "exec_module",
        "remove",
        "unlink",
        "rmtree",
        "rmdir",
        "removedirs",
        "rename",
        "replace",
        "chmod",
        "chown",
        "symlink",
        "link",
        "truncate",
        "putenv",
        "urlopen",
        "urlretrieve",
        "create_connection",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "breakpoint",
        "loads",
        "load",
        "runcode",
        "runsource",
        "runcall",
        "runctx",
        "runeval",
    }
    | _MODULES
)

# Placeholders the scan uses for references it cannot name.
DYNAMIC = "<dynamic>"


def _in_modules(module: str) -> bool:
    parts = module.split(".")
    return any(".".join(parts[:end]) in _MODULES for end in range(1, len(parts) + 1))


def is_dangerous(module: str, name: str) -> bool:
    """True when loading a pickle that references `module.name` can run code or reach the
    OS, the file system or the network."""
    if module == DYNAMIC or name == DYNAMIC:
        # Names computed while loading cannot be checked, and nothing honest computes them.
        return True
    if _in_modules(module) or f"{module}.{name}" in _NAMES:
        return True
    attributes = name.split(".")
    if any(part.startswith("__") and part.endswith("__") and part != "__init__" for part in attributes):
        # Dotted names (protocol 4) walking dunders reach __globals__, __builtins__, ...
        return True
    if len(attributes) > 1 and f"{module}.{attributes[0]}" in _NAMES:
        return True
    return any(part in _ANY_MODULE_NAMES for part in attributes)
