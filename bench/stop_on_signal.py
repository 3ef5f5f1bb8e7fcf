"""Stop what a benchmark started when the benchmark is killed by SIGTERM, SIGINT or SIGHUP.

The control planes and the operator run in sessions of their own (a terminal's Ctrl-C does not
reach them), so they outlive a benchmark that dies without stopping them. Stopping them from the
signal handler itself is not safe: the handler runs in the main thread between two bytecodes,
perhaps while the supervisor is half way through starting or stopping a process and rewriting its
state file. So the handler only raises `Terminated` in the main thread; the benchmark's `finally`
blocks unwind and stop the federation exactly as they do on any error, and `main` turns the
exception into the exit status 128 + signal number (143 for SIGTERM, 130 for SIGINT, 129 for SIGHUP).

Stopping must run to its end: inside `shielded()`, a signal is remembered instead of raised, and
raised when the block is left. After the first `Terminated`, further signals are logged and
ignored, so a second Ctrl-C cannot cut the cleanup short (SIGKILL still can).

    install(log)
    try:
        fed = Federation.start(...)
        try:
            ...
        finally:
            with shielded():
                fed.stop()
    except Terminated as e:
        return e.exit_code
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Terminated(BaseException):
    """A stop signal arrived; a BaseException so that `except Exception` on the way does not swallow it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"terminated by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        """The status a shell reports for a process killed by this signal."""
        return 128 + self.signum


class _State:
    """What the handler knows; only the main thread touches it (Python runs handlers there)."""

    def __init__(self) -> None:
        self.log: Callable[[str], None] = lambda _: None
        self.shields = 0
        self.pending: int | None = None
        self.raised = False


_state = _State()


def install(log: Callable[[str], None]) -> None:
    """Raise `Terminated` in the main thread on SIGTERM, SIGINT and SIGHUP from now on.

    Raises ValueError when called from another thread than the main one (Python's own rule).
    """
    if threading.current_thread() is not threading.main_thread():
        raise ValueError("signal handlers can only be installed from the main thread")
    _state.log = log
    for sig in SIGNALS:
        signal.signal(sig, _handle)


def _handle(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    if _state.raised:
        _state.log(f"{name} received while already stopping: ignored, the cleanup goes on")
        return
    if _state.shields:
        _state.log(f"{name} received while stopping the federation: exiting once it is stopped")
        _state.pending = _state.pending or signum
        return
    _state.log(f"{name} received: stopping what this benchmark started")
    _state.raised = True
    raise Terminated(signum)


@contextmanager
def shielded() -> Iterator[None]:
    """Run a block that a signal must not interrupt; a signal received meanwhile is raised after it."""
    _state.shields += 1
    try:
        yield
    finally:
        _state.shields -= 1
    if not _state.shields and _state.pending is not None and not _state.raised:
        signum, _state.pending = _state.pending, None
        _state.raised = True
        raise Terminated(signum)
