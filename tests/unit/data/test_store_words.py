"""How a store's refusal is reported (computenet.data.s3.store_words)."""

from __future__ import annotations

import pytest

from computenet.data.s3 import store_words


@pytest.mark.parametrize(
    ("code", "message", "status", "expected"),
    [
        pytest.param(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match",
            403,
            ("SignatureDoesNotMatch", "The request signature we calculated does not match"),
            id="the store's own code and message are kept",
        ),
        pytest.param("404", "Not Found", 404, ("NotFound", "HTTP 404, no details"), id="a HEAD of a missing key"),
        pytest.param("403", "Forbidden", 403, ("Forbidden", "HTTP 403, no details"), id="a HEAD with a wrong key"),
        pytest.param(None, None, 503, ("503", "HTTP 503"), id="no body: the status is the code"),
        pytest.param(None, None, None, ("Unknown", "no details"), id="nothing at all"),
    ],
)
def test_store_words(code: str | None, message: str | None, status: int | None, expected: tuple[str, str]) -> None:
    assert store_words(code, message, status) == expected
