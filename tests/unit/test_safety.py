"""Which flags mean "runs code when loaded", the refusal they earn, and how policy patterns name them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.safety import current, forbidden, matches, runs_code, unsafe_content


def test_code_running_labels_are_told_apart_from_merely_unknown_ones():
    assert runs_code("dangerous-global:posix.system")
    assert runs_code("unsafe-ops:PyFunc,WriteFile")
    assert runs_code("remote-code:modeling_llama.py")
    assert runs_code("remote-code")
    assert not runs_code("unknown-global:torch.nn.modules.linear.Linear")
    assert not runs_code("unsafe-format")
    assert not runs_code("lambda-layer")


def test_a_refusal_names_its_reason_each_file_and_what_it_would_run():
    refusal = unsafe_content({
        "weights.safetensors": (),
        "model.pkl": ("unsafe-format", "dangerous-global:posix.system", "dangerous-global:builtins.eval"),
        "saved_model.pb": ("unsafe-ops:WriteFile",),
    })  # fmt: skip

    assert refusal is not None
    assert refusal.reason == "UNSAFE_PICKLE"
    assert "model.pkl: loading it would import posix.system, builtins.eval" in refusal.message
    assert "saved_model.pb: its TensorFlow graph runs WriteFile" in refusal.message
    assert "--allow-unsafe" in refusal.message
    assert refusal.metadata["flags"].split(",") == sorted(
        ["dangerous-global:posix.system", "dangerous-global:builtins.eval", "unsafe-ops:WriteFile"]
    )


def test_files_without_code_running_flags_earn_no_refusal():
    assert unsafe_content({"m.pkl": ("unsafe-format", "unknown-global:a.B"), "x.keras": ("lambda-layer",)}) is None


def test_a_refusal_stays_bounded_however_many_flags_a_file_carries():
    flags = tuple(f"dangerous-global:m{i}.f" for i in range(10_000))

    refusal = unsafe_content({f"f{i}.pkl": flags for i in range(100)})

    assert refusal is not None
    assert len(refusal.message) < 2_000
    assert len(refusal.metadata["flags"]) <= 1_000


_FLAG = st.from_regex(r"[a-z][a-z-]{0,12}(:[a-zA-Z0-9_.,]{1,12})?", fullmatch=True)


@given(st.lists(_FLAG, max_size=8))
def test_a_pattern_naming_a_label_forbids_that_label_with_any_detail(flags):
    chosen = forbidden(flags, ["dangerous-*"])

    assert chosen == list(dict.fromkeys(f for f in flags if f.startswith("dangerous-")))
    assert all(matches(f, f.partition(":")[0]) for f in flags)


def test_an_older_daemons_unsafe_global_flags_are_judged_by_todays_rule():
    assert current("unsafe-global:posix.system") == "dangerous-global:posix.system"
    assert current("unsafe-global:builtins.eval") == "dangerous-global:builtins.eval"
    assert current("unsafe-global:my_project.heads.Head") == "unknown-global:my_project.heads.Head"
    assert current("dangerous-global:os.system") == "dangerous-global:os.system"
    assert runs_code("unsafe-global:subprocess.Popen") and not runs_code("unsafe-global:my_project.Net")
    assert forbidden(["unsafe-format", "unsafe-global:nt.system", "unsafe-global:my_project.Net"],
                     ["dangerous-*"]) == ["unsafe-global:nt.system"]  # fmt: skip
