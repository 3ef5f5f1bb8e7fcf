"""Thin kopf handlers: read the object, call the runtime, write status. Importing registers them."""

from computenet.handlers import identifiers, lifecycle, pools, tasks

__all__ = ["identifiers", "lifecycle", "pools", "tasks"]
