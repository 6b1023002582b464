"""Claims keep a blob that an ingest relies on away from garbage collection (blobs.claims)."""

from __future__ import annotations

from studbook.daemon.blobs.claims import BlobClaims


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_blob_claimed_before_the_sweep_is_not_deleted_while_held():
    claims, deleted = BlobClaims(linger=60), []
    with claims.hold() as ingest:
        ingest.claim("a")
        with claims.sweep() as sweep:
            gone = claims.delete_unclaimed(sweep, "a", deleted.append)

    assert (gone, deleted) == (False, [])


def test_a_blob_claimed_during_the_sweep_is_not_deleted_even_once_released():
    claims, deleted = BlobClaims(linger=0), []
    with claims.sweep() as sweep:
        with claims.hold() as ingest:
            ingest.claim("a")  # after the sweep read the catalog: the version may commit any moment
        gone = claims.delete_unclaimed(sweep, "a", deleted.append)

    assert (gone, deleted) == (False, [])


def test_an_unclaimed_blob_is_deleted_and_a_later_claim_finds_it_gone():
    claims, deleted = BlobClaims(), []
    with claims.sweep() as sweep:
        gone = claims.delete_unclaimed(sweep, "a", deleted.append)
    with claims.hold() as ingest:
        ingest.claim("a")  # the ingest looks for the blob only now, and stores it again

    assert (gone, deleted) == (True, ["a"])


def test_a_released_claim_protects_its_blob_for_the_linger_then_no_longer():
    clock = Clock()
    claims, deleted = BlobClaims(linger=3600, clock=clock), []
    with claims.hold() as ingest:
        ingest.claim("a")

    clock.now += 3599
    with claims.sweep() as sweep:
        kept = not claims.delete_unclaimed(sweep, "a", deleted.append)
    clock.now += 2
    with claims.sweep() as sweep:
        gone = claims.delete_unclaimed(sweep, "a", deleted.append)

    assert kept and gone and deleted == ["a"]


def test_a_blob_two_ingests_claim_stays_held_until_both_end():
    clock = Clock()
    claims, deleted = BlobClaims(linger=0, clock=clock), []
    with claims.hold() as second:
        with claims.hold() as first:
            first.claim("a")
            second.claim("a")
        clock.now += 1
        with claims.sweep() as sweep:
            held = not claims.delete_unclaimed(sweep, "a", deleted.append)

    assert held and deleted == []
