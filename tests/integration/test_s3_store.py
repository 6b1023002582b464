"""What only the S3 store does: its layout in the bucket, uploads in parts, and the errors of a
misconfigured store, against a real S3-compatible server (moto). The behaviour every store
shares is specified in test_blob_stores.py."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from studbook.daemon.blobs import open_store
from studbook.daemon.blobs.s3 import MARKER_KEY, SINGLE_PUT_MAX, S3BlobStore, parse_url
from studbook.daemon.blobs.store import ArtifactStoreUnavailable, blob_key
from studbook.daemon.domain.errors import InvalidArgument, Unavailable
from support.net import free_port
from support.s3 import MotoServer, S3Bucket

MiB = 1 << 20


@pytest.fixture(autouse=True)
def no_aws_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes reaches a store: nothing from the shell that runs the tests."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def bucket(moto: MotoServer) -> S3Bucket:
    return moto.create_bucket()


def stage(store: S3BlobStore, data: bytes, name: str = "blob.part") -> Path:
    staged = store.staging / name
    staged.write_bytes(data)
    return staged


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_blobs_are_laid_out_under_the_prefix_by_sha256(bucket: S3Bucket, tmp_path: Path) -> None:
    store = S3BlobStore(bucket.url("team/models/"), staging=tmp_path, environ=bucket.env)
    data = b"a small model"

    store.put(sha(data), stage(store, data))

    assert store.url == f"s3://{bucket.name}/team/models"
    assert bucket.keys() == [f"team/models/{blob_key(sha(data))}"]
    assert blob_key(sha(data)) == f"sha256/{sha(data)[:2]}/{sha(data)[2:4]}/{sha(data)}"


def test_a_store_at_the_bucket_root_has_no_prefix(bucket: S3Bucket, tmp_path: Path) -> None:
    store = S3BlobStore(bucket.url(), staging=tmp_path, environ=bucket.env)
    data = b"at the root"

    store.put(sha(data), stage(store, data))

    assert store.url == f"s3://{bucket.name}"
    assert bucket.keys() == [blob_key(sha(data))]


def test_the_check_leaves_a_marker_beside_the_blobs_that_list_ignores(bucket: S3Bucket, tmp_path: Path) -> None:
    store = S3BlobStore(bucket.url("p"), staging=tmp_path, environ=bucket.env)

    store.check()

    assert bucket.keys() == [f"p/{MARKER_KEY}"]
    assert list(store.list()) == []


def test_a_small_blob_goes_up_in_one_request_and_a_big_one_in_parts(bucket: S3Bucket, tmp_path: Path) -> None:
    store = S3BlobStore(bucket.url("p"), staging=tmp_path, environ=bucket.env)
    small, big = os.urandom(SINGLE_PUT_MAX), os.urandom(64 * MiB)

    store.put(sha(small), stage(store, small))
    store.put(sha(big), stage(store, big))

    # S3 names a multipart object's ETag after its number of parts: "<md5 of the md5s>-<parts>".
    assert "-" not in bucket.head(f"p/{blob_key(sha(small))}")["ETag"]
    assert bucket.head(f"p/{blob_key(sha(big))}")["ETag"].strip('"').endswith("-8")
    assert hashlib.sha256(b"".join(store.read(sha(big)))).hexdigest() == sha(big)


def test_a_big_blob_stored_already_is_not_uploaded_again(bucket: S3Bucket, tmp_path: Path) -> None:
    store = S3BlobStore(bucket.url("p"), staging=tmp_path, environ=bucket.env)
    data = os.urandom(SINGLE_PUT_MAX + 1)
    store.put(sha(data), stage(store, data))
    first = bucket.head(f"p/{blob_key(sha(data))}")
    staged = stage(store, data)

    new = store.put(sha(data), staged)

    assert new is False
    assert not staged.exists()
    assert bucket.head(f"p/{blob_key(sha(data))}")["LastModified"] == first["LastModified"]


def test_two_stores_racing_on_a_big_blob_both_succeed_with_the_same_bytes(bucket: S3Bucket, tmp_path: Path) -> None:
    """Parts cannot be completed conditionally through obstore: both may upload, neither fails."""
    data = os.urandom(3 * SINGLE_PUT_MAX)
    stores = [S3BlobStore(bucket.url("p"), staging=tmp_path / str(i), environ=bucket.env) for i in range(2)]
    staged = [stage(store, data) for store in stores]
    start = threading.Barrier(2)
    answers: list[bool] = []

    def put(index: int) -> None:
        start.wait()
        answers.append(stores[index].put(sha(data), staged[index]))

    threads = [threading.Thread(target=put, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 2 and True in answers
    assert b"".join(stores[0].read(sha(data))) == data
    assert bucket.keys() == [f"p/{blob_key(sha(data))}"]


def test_wrong_credentials_are_refused_with_a_reason_and_no_secret(moto: MotoServer, tmp_path: Path) -> None:
    bucket = moto.create_bucket()
    with moto.require_credentials() as good:
        S3BlobStore(bucket.url("p"), staging=tmp_path, environ=good).check()
        wrong = {**good, "AWS_SECRET_ACCESS_KEY": "not-the-secret-1234", "AWS_SESSION_TOKEN": "token-5678"}
        unknown = {**good, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWNUNKNOWN00"}
        for env in (wrong, unknown):
            store = S3BlobStore(bucket.url("p"), staging=tmp_path, environ=env)
            data = b"refused"
            staged = stage(store, data)
            attempts = [store.check, lambda: store.put(sha(data), staged), lambda: store.read(sha(data)),
                        lambda: list(store.list())]  # fmt: skip
            for attempt in attempts:
                with pytest.raises(ArtifactStoreUnavailable) as refused:
                    attempt()
                error = refused.value
                assert error.reason == "ARTIFACT_STORE_DENIED", error.message
                assert bucket.url("p") in error.message and "AWS_SECRET_ACCESS_KEY" in error.message
                text = error.message + repr(error.metadata)
                assert good["AWS_SECRET_ACCESS_KEY"] not in text
                assert "not-the-secret-1234" not in text and "token-5678" not in text
                assert error.__cause__ is None and error.__suppress_context__
            assert not staged.exists()


def test_a_missing_bucket_is_named_at_check_and_at_put(moto: MotoServer, tmp_path: Path) -> None:
    store = S3BlobStore("s3://no-such-bucket-here/p", staging=tmp_path, environ=moto.env())
    staged = stage(store, b"x")

    with pytest.raises(ArtifactStoreUnavailable) as at_check:
        store.check()
    with pytest.raises(ArtifactStoreUnavailable) as at_put:
        store.put(sha(b"x"), staged)

    for error in (at_check.value, at_put.value):
        assert error.reason == "ARTIFACT_STORE_BUCKET_MISSING"
        assert "'no-such-bucket-here'" in error.message and moto.endpoint in error.message
    assert not staged.exists()


def test_an_unreachable_endpoint_is_reported_as_such(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    store = S3BlobStore("s3://some-bucket", staging=tmp_path,
                        environ={"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": nobody})  # fmt: skip

    with pytest.raises(ArtifactStoreUnavailable) as unreachable:
        store.check()

    assert isinstance(unreachable.value, Unavailable)
    assert unreachable.value.reason == "ARTIFACT_STORE_UNREACHABLE"
    assert nobody in unreachable.value.message and "AWS_ENDPOINT_URL" in unreachable.value.message


def test_no_credentials_anywhere_is_reported_as_such(moto: MotoServer, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # Without keys obstore asks the instance metadata service; here it answers nothing.
    monkeypatch.setenv("AWS_METADATA_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    store = S3BlobStore(moto.create_bucket().url(), staging=tmp_path, environ={"AWS_ENDPOINT_URL": moto.endpoint})

    with pytest.raises(ArtifactStoreUnavailable) as missing:
        store.check()

    assert missing.value.reason == "ARTIFACT_STORE_NO_CREDENTIALS"
    assert "AWS_ACCESS_KEY_ID" in missing.value.message


def test_an_endpoint_with_a_password_in_it_is_never_echoed(tmp_path: Path) -> None:
    endpoint = f"http://admin:hunter2@127.0.0.1:{free_port()}"
    store = S3BlobStore("s3://some-bucket", staging=tmp_path,
                        environ={"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": endpoint})  # fmt: skip

    with pytest.raises(ArtifactStoreUnavailable) as failed:
        store.check()

    assert "hunter2" not in failed.value.message + repr(failed.value.metadata)


def test_open_store_gives_a_checked_s3_store_for_an_s3_url(bucket: S3Bucket, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name, value in bucket.env.items():
        monkeypatch.setenv(name, value)

    store = open_store(bucket.url("prefix"), tmp_path / "data")

    assert isinstance(store, S3BlobStore)
    assert store.url == bucket.url("prefix")
    assert store.staging == tmp_path / "data" / "staging" and store.staging.is_dir()
    assert bucket.keys() == [f"prefix/{MARKER_KEY}"]  # checked on the way


def test_open_store_refuses_a_store_it_cannot_use(moto: MotoServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ArtifactStoreUnavailable) as refused:
        open_store("s3://no-such-bucket-here/prefix", tmp_path)

    assert refused.value.reason == "ARTIFACT_STORE_BUCKET_MISSING"


@pytest.mark.parametrize(
    "url",
    ["s3://", "s3:///prefix", "s3://Upper-Case", "s3://b", "s3://bucket/a/../b", "s3://bucket/a//b",
     "s3://bucket/p?versionId=1", "s3://user:pw@bucket/p", "gs://bucket/p"],
)  # fmt: skip
def test_a_malformed_url_is_refused_before_anything_is_sent(url: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_url(url)
    assert refused.value.reason == "INVALID_ARTIFACT_STORE"


def test_a_well_formed_url_names_bucket_and_prefix() -> None:
    assert parse_url("s3://my-bucket") == ("my-bucket", "")
    assert parse_url("s3://my.bucket-1/team/models/") == ("my.bucket-1", "team/models")
