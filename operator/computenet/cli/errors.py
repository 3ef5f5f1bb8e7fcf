"""What the plugin's verbs raise: one line for the user, and the exit code scripts read."""

from __future__ import annotations

OK = 0
ERROR = 1
USAGE = 2


class CliError(Exception):
    """A failure the user can act on; printed as ``error: <message>`` and exit code 1."""

    exit_code = ERROR


class UsageError(CliError):
    """The command line itself is wrong; exit code 2, as argparse uses."""

    exit_code = USAGE
