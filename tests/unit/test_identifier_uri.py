"""The identifier URI: cpi://<provider>/<region>/<cluster>[/<partition>]."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computenet.api.uri import (
    URI_MAX_LENGTH,
    URI_PATTERN,
    IdentifierURI,
    InvalidIdentifierURI,
    parse_identifier_uri,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("cpi://acme/cn-east/member-1", IdentifierURI("acme", "cn-east", "member-1"), id="whole cluster"),
        pytest.param(
            "cpi://zenith/cn-west/member-2/h100",
            IdentifierURI("zenith", "cn-west", "member-2", "h100"),
            id="partition",
        ),
        pytest.param("cpi://a/b/c", IdentifierURI("a", "b", "c"), id="one-character segments"),
        pytest.param("cpi://0/1/2/3", IdentifierURI("0", "1", "2", "3"), id="digits only"),
        pytest.param(
            f"cpi://{'a' * 63}/r/c", IdentifierURI("a" * 63, "r", "c"), id="63-character segment is the limit"
        ),
    ],
)
def test_parse(text: str, expected: IdentifierURI) -> None:
    uri = parse_identifier_uri(text)
    assert uri == expected
    assert str(uri) == text
    assert re.fullmatch(URI_PATTERN, text)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        pytest.param("", "must start with", id="empty"),
        pytest.param("https://acme/cn-east/member-1", "must start with", id="wrong scheme"),
        pytest.param("CPI://acme/cn-east/member-1", "must start with", id="upper-case scheme"),
        pytest.param("cpi:/acme/cn-east/member-1", "must start with", id="one slash"),
        pytest.param("cpi://acme/cn-east", "3 or 4 segments", id="too few segments"),
        pytest.param("cpi://acme/cn-east/member-1/h100/extra", "3 or 4 segments", id="too many segments"),
        pytest.param("cpi://acme/cn-east/member-1/", "partition segment", id="trailing slash"),
        pytest.param("cpi://acme//member-1", "region segment", id="empty segment"),
        pytest.param("cpi://Acme/cn-east/member-1", "provider segment", id="upper case"),
        pytest.param("cpi://acme/cn_east/member-1", "region segment", id="underscore"),
        pytest.param("cpi://acme/-east/member-1", "region segment", id="leading dash"),
        pytest.param("cpi://acme/east-/member-1", "region segment", id="trailing dash"),
        pytest.param("cpi://acme/cn.east/member-1", "region segment", id="dot"),
        pytest.param(f"cpi://{'a' * 64}/r/c", "provider segment", id="64-character segment"),
        pytest.param("cpi://acme/cn-east/member-1?x=1", "cluster segment", id="query string"),
        pytest.param("cpi://acme/cn-east/member-1#frag", "cluster segment", id="fragment"),
        pytest.param("cpi://acme/cn east/member-1", "region segment", id="space"),
        pytest.param("cpi://x/y/" + "c" * 400, "longer than", id="absurdly long"),
    ],
)
def test_rejects(text: str, complaint: str) -> None:
    with pytest.raises(InvalidIdentifierURI, match=complaint):
        parse_identifier_uri(text)
    assert not re.fullmatch(URI_PATTERN, text)


def test_rejects_non_strings() -> None:
    with pytest.raises(InvalidIdentifierURI):
        parse_identifier_uri(42)  # type: ignore[arg-type]


def test_constructing_an_invalid_uri_fails() -> None:
    with pytest.raises(InvalidIdentifierURI, match="cluster segment"):
        IdentifierURI("acme", "cn-east", "Member")


def test_whole_cluster_drops_the_partition() -> None:
    uri = parse_identifier_uri("cpi://zenith/cn-west/member-2/h100")
    assert str(uri.whole_cluster) == "cpi://zenith/cn-west/member-2"
    assert uri.whole_cluster.whole_cluster == uri.whole_cluster


def test_max_length_fits_four_longest_segments() -> None:
    longest = "cpi://" + "/".join(["x" * 63] * 4)
    assert len(longest) == URI_MAX_LENGTH
    assert str(parse_identifier_uri(longest)) == longest


segment = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)


@given(segment, segment, segment, st.none() | segment)
def test_round_trip(provider: str, region: str, cluster: str, partition: str | None) -> None:
    uri = IdentifierURI(provider, region, cluster, partition)
    text = str(uri)
    assert parse_identifier_uri(text) == uri
    assert re.fullmatch(URI_PATTERN, text)


@given(st.text(max_size=40))
def test_parser_and_schema_pattern_agree(text: str) -> None:
    try:
        parse_identifier_uri(text)
        parsed = True
    except InvalidIdentifierURI:
        parsed = False
    assert parsed == bool(re.fullmatch(URI_PATTERN, text))
