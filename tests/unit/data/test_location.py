"""s3:// URIs and sha256 checksums as the mover and the API read them (computenet.data.location)."""

from __future__ import annotations

import pytest

from computenet.data.location import InvalidLocation, ObjectLocation, parse_checksum, parse_s3_uri


@pytest.mark.parametrize(
    ("uri", "expected", "is_prefix"),
    [
        pytest.param("s3://data/train/x.bin", ObjectLocation("data", "train/x.bin"), False, id="bucket and key"),
        pytest.param("s3://data/train/", ObjectLocation("data", "train/"), True, id="a trailing slash is a prefix"),
        pytest.param("s3://data", ObjectLocation("data", ""), True, id="a bare bucket is the whole bucket"),
        pytest.param("s3://my.bucket-1/k", ObjectLocation("my.bucket-1", "k"), False, id="dots and dashes"),
    ],
)
def test_parse_s3_uri(uri: str, expected: ObjectLocation, is_prefix: bool) -> None:
    loc = parse_s3_uri(uri)
    assert loc == expected
    assert loc.is_prefix is is_prefix


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        pytest.param("http://data/k", "not an s3:// URI", id="another scheme"),
        pytest.param("s3://Data/k", "not a valid bucket name", id="upper case bucket"),
        pytest.param("s3://ab/k", "not a valid bucket name", id="bucket too short"),
        pytest.param("s3://a..b/k", "not a valid bucket name", id="two dots"),
        pytest.param("s3://data//k", "empty path segment", id="empty segment"),
        pytest.param("s3://data/" + "k" * 1025, "longer than 1024", id="key too long"),
    ],
)
def test_parse_s3_uri_refuses(uri: str, message: str) -> None:
    with pytest.raises(InvalidLocation, match=message):
        parse_s3_uri(uri)


def test_child_of_a_prefix() -> None:
    assert str(ObjectLocation("b", "in/").child("x/y")) == "s3://b/in/x/y"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("sha256:" + "a" * 64, True, id="sha256 and 64 hex digits"),
        pytest.param("sha256:" + "A" * 64, False, id="upper-case hex"),
        pytest.param("md5:" + "a" * 32, False, id="another algorithm"),
        pytest.param("sha256:" + "a" * 63, False, id="too short"),
    ],
)
def test_parse_checksum(value: str, ok: bool) -> None:
    if ok:
        assert parse_checksum(value) == value
    else:
        with pytest.raises(InvalidLocation, match="must be sha256"):
            parse_checksum(value)
