"""What a re-hash means for versions: the reason names each bad file and the store; statuses move."""

from __future__ import annotations

from studbook.daemon.domain.integrity import corrupt_reasons, status_after_check
from studbook.daemon.domain.model import VersionStatus

STORE = "file:///data/blobs"


def test_each_version_gets_one_reason_naming_its_changed_and_its_missing_files() -> None:
    files = [("m", 1, "a.bin", "aa"), ("m", 1, "b.bin", "bb"), ("m", 1, "ok.bin", "cc"), ("n", 2, "w.bin", "aa"),
             ("m", 3, "fine.bin", "cc")]  # fmt: skip

    reasons = corrupt_reasons({"aa": False, "bb": True}, files, STORE)

    assert reasons == {
        ("m", 1): f"a.bin no longer matches its sha256 in the artifact store {STORE}; "
                  f"b.bin is missing from the artifact store {STORE}",
        ("n", 2): f"w.bin no longer matches its sha256 in the artifact store {STORE}",
    }  # fmt: skip


def test_a_reason_names_five_files_and_counts_the_rest() -> None:
    files = [("m", 1, f"part-{i}.bin", "aa") for i in range(7)]

    reason = corrupt_reasons({"aa": True}, files, STORE)[("m", 1)]

    assert reason.startswith("part-0.bin, part-1.bin, part-2.bin, part-3.bin, part-4.bin and 2 more are missing")


def test_bad_bytes_make_a_version_corrupt_matching_ones_make_a_corrupt_one_ready_archived_stays() -> None:
    assert status_after_check(VersionStatus.READY, "gone") == VersionStatus.CORRUPT
    assert status_after_check(VersionStatus.CORRUPT, None) == VersionStatus.READY
    assert status_after_check(VersionStatus.READY, None) == VersionStatus.READY
    assert status_after_check(VersionStatus.ARCHIVED, "gone") == VersionStatus.ARCHIVED
