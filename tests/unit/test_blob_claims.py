"""Claims keep a blob that an ingest relies on away from garbage collection (blobs.claims)."""

from __future__ import annotations

from studbook.daemon.blobs.claims import BlobClaims


def test_a_blob_claimed_before_the_sweep_is_not_deleted_while_held():
    claims, deleted = BlobClaims(), []
    with claims.hold() as ingest:
        ingest.claim("a")
        with claims.sweep() as sweep:
            gone = claims.delete_unclaimed(sweep, "a", deleted.append)

    assert (gone, deleted) == (False, [])


def test_a_blob_claimed_during_the_sweep_is_not_deleted_even_once_released():
    claims, deleted = BlobClaims(), []
    with claims.sweep() as sweep:
        with claims.hold() as ingest:
            ingest.claim("a")  # after the sweep read the catalog: its version committed since
        gone = claims.delete_unclaimed(sweep, "a", deleted.append)

    assert (gone, deleted) == (False, [])


def test_an_unclaimed_blob_is_deleted_and_a_later_claim_finds_it_gone():
    claims, deleted = BlobClaims(), []
    with claims.sweep() as sweep:
        gone = claims.delete_unclaimed(sweep, "a", deleted.append)
    with claims.hold() as ingest:
        ingest.claim("a")  # the ingest looks for the blob only now, and stores it again

    assert (gone, deleted) == (True, ["a"])


def test_a_blob_two_ingests_claim_stays_held_until_both_end():
    claims, deleted = BlobClaims(), []
    with claims.hold() as second:
        with claims.hold() as first:
            first.claim("a")
            second.claim("a")
        with claims.sweep() as sweep:
            held = not claims.delete_unclaimed(sweep, "a", deleted.append)
    with claims.sweep() as sweep:
        gone = claims.delete_unclaimed(sweep, "a", deleted.append)

    assert held and gone and deleted == ["a"]
