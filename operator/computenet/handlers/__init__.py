"""Thin kopf handlers: read the object, call the runtime, write status. Importing registers them.

ComputeTasks are not among them: the task service watches them itself (`computenet.tasks.watch`).
"""

from computenet.handlers import identifiers, lifecycle, pools, workload_kinds

__all__ = ["identifiers", "lifecycle", "pools", "workload_kinds"]
