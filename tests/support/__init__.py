"""Shared test support: waiting, timeouts and cluster access."""
