"""Start and stop the local control-plane processes, and remember them across commands.

`make dev-up` and `make dev-down` are separate commands, so the set of processes we started is
kept in a state file. Stopping checks each PID's start time before signalling it, so a PID the
kernel has since reused for someone else's process is never killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

_STOP_TIMEOUT_S = 15.0


class ComponentFailed(RuntimeError):
    """A component did not start; the message names it and carries the tail of its log."""

    def __init__(self, component: str, why: str, log: Path) -> None:
        self.component = component
        self.log = log
        super().__init__(f"{component} failed to start: {why}\n--- last lines of {log} ---\n{log_tail(log)}")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot, or None if it no longer exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after the closing paren are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


@dataclass
class Record:
    name: str
    pid: int
    start_ticks: int
    argv: list[str]
    log: str
    env: dict[str, str]


class Supervisor:
    """Owns the processes of one local federation; its state file lists exactly what it started."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._file = state_dir / "processes.json"
        self._records: dict[str, Record] = {}
        self._popen: dict[str, subprocess.Popen[bytes]] = {}
        if self._file.exists():
            for raw in json.loads(self._file.read_text()):
                rec = Record(**raw)
                self._records[rec.name] = rec

    def _save(self) -> None:
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(r) for r in self._records.values()], indent=2))
        tmp.replace(self._file)

    def start(self, name: str, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> None:
        """Start a component in its own session, with output appended to its log."""
        log.parent.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, **(env or {})}
        with log.open("ab") as out:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=full_env,
                start_new_session=True,
            )
        ticks = _start_ticks(proc.pid) or 0
        self._popen[name] = proc
        self._records[name] = Record(name, proc.pid, ticks, list(argv), str(log), dict(env or {}))
        self._save()

    def alive(self, name: str) -> bool:
        rec = self._records.get(name)
        return rec is not None and _start_ticks(rec.pid) == rec.start_ticks and not self._exited(name)

    def _exited(self, name: str) -> bool:
        proc = self._popen.get(name)
        return proc is not None and proc.poll() is not None

    def check_running(self, name: str) -> None:
        """Raise ComponentFailed if the component has already exited."""
        if not self.alive(name):
            raise ComponentFailed(name, "process exited", Path(self._records[name].log))

    def log(self, name: str) -> Path:
        return Path(self._records[name].log)

    def names(self) -> list[str]:
        return list(self._records)

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> Record:
        """Stop one component and wait until it is gone (SIGKILL after a grace period)."""
        rec = self._records[name]
        if _start_ticks(rec.pid) == rec.start_ticks:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(rec.pid, sig)
            deadline = time.monotonic() + _STOP_TIMEOUT_S
            while _start_ticks(rec.pid) == rec.start_ticks and not self._reaped(name):
                if time.monotonic() > deadline:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(rec.pid, signal.SIGKILL)
                    deadline = time.monotonic() + _STOP_TIMEOUT_S
                time.sleep(0.05)
        proc = self._popen.pop(name, None)
        if proc is not None:
            proc.wait(timeout=_STOP_TIMEOUT_S)  # reap it: no zombie, no ResourceWarning
        del self._records[name]
        self._save()
        return rec

    def _reaped(self, name: str) -> bool:
        proc = self._popen.get(name)
        if proc is None:
            return False
        return proc.poll() is not None and _start_ticks(proc.pid) is None

    def disown(self) -> None:
        """Leave the processes running past our exit (dev-up's federation outlives a test run).

        They are recorded in the state file and stopped by `down`; marking our handles finished tells
        Python not to wait for, or warn about, children we deliberately leave behind.
        """
        for proc in self._popen.values():
            if proc.poll() is None:
                proc.returncode = 0
        self._popen.clear()

    def stop_all(self) -> None:
        """Stop everything, newest first, so clients go before the servers they talk to."""
        for name in reversed(list(self._records)):
            self.stop(name)
        with contextlib.suppress(FileNotFoundError):
            self._file.unlink()
