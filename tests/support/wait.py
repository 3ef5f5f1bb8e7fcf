"""The one way tests wait for state: poll a check until it passes or its timeout runs out.

A check returns a truthy value (which `eventually` returns) or raises AssertionError / returns
a falsy value to mean "not yet". On timeout the last assertion message is re-raised, so a failing
test says what it was waiting for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from support.timeouts import POLL_INTERVAL_S, STATE_S

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = STATE_S, interval: float = POLL_INTERVAL_S) -> T:
    deadline = time.monotonic() + timeout
    while True:
        last: AssertionError | None = None
        try:
            value = check()
            if value:
                return value
            last = AssertionError(f"{getattr(check, '__name__', 'check')} returned {value!r}")
        except AssertionError as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout:.0f}s: {last}") from last
        time.sleep(interval)


async def eventually_async(
    check: Callable[[], Awaitable[T]], timeout: float = STATE_S, interval: float = POLL_INTERVAL_S
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        last: AssertionError | None = None
        try:
            value = await check()
            if value:
                return value
            last = AssertionError(f"{getattr(check, '__name__', 'check')} returned {value!r}")
        except AssertionError as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout:.0f}s: {last}") from last
        await asyncio.sleep(interval)
