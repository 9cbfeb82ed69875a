from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from cliply.storage import InvalidKey, LocalStorage, S3Storage, StorageError, keys, storage_from_url

WS = uuid.UUID("11111111-1111-4111-8111-111111111111")
PJ = uuid.UUID("22222222-2222-4222-8222-222222222222")
CL = uuid.UUID("33333333-3333-4333-8333-333333333333")


def test_key_builders() -> None:
    assert keys.source_video_key(WS, PJ, ".MP4") == f"videos/{WS}/{PJ}/source.mp4"
    assert keys.transcript_key(WS, PJ, "vtt") == f"transcripts/{WS}/{PJ}/transcript.vtt"
    assert keys.render_key(WS, PJ, CL) == f"renders/{WS}/{PJ}/{CL}.mp4"
    assert keys.thumbnail_key(WS, PJ, CL) == f"thumbs/{WS}/{PJ}/{CL}.jpg"
    assert keys.upload_key(WS, CL) == f"uploads/{WS}/{CL}/data"
    assert keys.upload_part_key(WS, CL, 7) == f"uploads/{WS}/{CL}/part-000007"
    assert keys.source_video_key(str(WS).upper(), str(PJ), "mov").startswith(f"videos/{WS}/")
    for prefix in keys.project_prefixes(WS, PJ) + keys.workspace_prefixes(WS):
        keys.validate_prefix(prefix)


@pytest.mark.parametrize(
    "call",
    [
        lambda: keys.source_video_key(WS, PJ, "exe"),
        lambda: keys.source_video_key(WS, PJ, "mp4/../../x"),
        lambda: keys.source_video_key("../../etc", PJ, "mp4"),
        lambda: keys.render_key(WS, PJ, "my clip"),
        lambda: keys.transcript_key(WS, PJ, "txt"),
        lambda: keys.upload_part_key(WS, CL, -1),
    ],
)
def test_key_builders_refuse_bad_input(call: object) -> None:
    with pytest.raises(InvalidKey) as err:
        call()  # type: ignore[operator]
    assert err.value.code == "invalid-key"


def test_storage_from_url_local(tmp_path: Path) -> None:
    for url in (f"file://{tmp_path}/a", str(tmp_path / "b")):
        store = storage_from_url(url, url_secret="s", public_base_url="http://h/files")
        assert isinstance(store, LocalStorage)
        store.put_bytes("x/y", b"1")
        assert store.root.is_relative_to(tmp_path)
    with pytest.raises(StorageError):
        storage_from_url(str(tmp_path), url_secret=None)
    with pytest.raises(StorageError):
        storage_from_url("file://otherhost/x", url_secret="s")
    with pytest.raises(StorageError):
        storage_from_url("ftp://x/y", url_secret="s")


def test_storage_from_url_s3(moto_endpoint: str) -> None:
    store = storage_from_url(
        f"s3://bucket-from-url/some/prefix?endpoint={moto_endpoint}&region=eu-west-1",
        access_key="testing",
        secret_key="testing",
    )
    assert isinstance(store, S3Storage)
    assert store.bucket == "bucket-from-url" and store.prefix == "some/prefix"
    store.create_bucket()
    store.put_bytes("a/b", b"hello")
    assert store.list("a/") == ["a/b"]
    assert store.read_bytes("a/b") == b"hello"
