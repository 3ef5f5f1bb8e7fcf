"""Label keys and values as Kubernetes v1.36.3 validates them in selector requirements.

The tables are upstream's: TestIsLabelKey and TestIsLabelValue from k8s.io/apimachinery@v0.36.3
`pkg/api/validate/content/kube_test.go`, one row per upstream case.
"""

from __future__ import annotations

import pytest

from computenet.placement.label_syntax import label_key_errors, label_value_errors

VALID_KEYS = [
    "simple",
    "now-with-dashes",
    "1-starts-with-num",
    "1234",
    "simple/simple",
    "now-with-dashes/simple",
    "now-with-dashes/now-with-dashes",
    "now.with.dots/simple",
    "now-with.dashes-and.dots/simple",
    "1-num.2-num/3-num",
    "1234/5678",
    "1.2.3.4/5678",
    "Uppercase_Is_OK_123",
    "example.com/Uppercase_Is_OK_123",
    "requests.storage-foo",
    "a" * 63,
    "a" * 253 + "/" + "b" * 63,
]
INVALID_KEYS = [
    "nospecialchars%^=@",
    "cantendwithadash-",
    "-cantstartwithadash-",
    "only/one/slash",
    "Example.com/abc",
    "example_com/abc",
    "example.com/",
    "/simple",
    "a" * 64,
    "a" * 254 + "/abc",
]
VALID_VALUES = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "a" * 63, ""]
INVALID_VALUES = [
    "nospecialchars%^=@",
    "Tama-nui-te-rā.is.Māori.sun",
    "\\backslashes\\are\\bad",
    "-starts-with-dash",
    "ends-with-dash-",
    ".starts.with.dot",
    "ends.with.dot.",
    "a" * 64,
]


@pytest.mark.parametrize("key", [pytest.param(k, id=f"valid key {k[:40]}") for k in VALID_KEYS])
def test_is_label_key_success(key: str) -> None:
    assert label_key_errors(key) == []


@pytest.mark.parametrize("key", [pytest.param(k, id=f"invalid key {k[:40]}") for k in INVALID_KEYS])
def test_is_label_key_failure(key: str) -> None:
    assert label_key_errors(key) != []


@pytest.mark.parametrize("value", [pytest.param(v, id=f"valid value {v[:40]!r}") for v in VALID_VALUES])
def test_is_label_value_success(value: str) -> None:
    assert label_value_errors(value) == []


@pytest.mark.parametrize("value", [pytest.param(v, id=f"invalid value {v[:40]!r}") for v in INVALID_VALUES])
def test_is_label_value_failure(value: str) -> None:
    assert label_value_errors(value) != []


def test_a_non_ascii_value_is_measured_in_bytes() -> None:
    """Go measures strings in bytes: 32 two-byte letters are 64 bytes, over the limit."""
    assert label_value_errors("ā" * 32)[0] == "must be no more than 63 bytes"
