"""Dispatch: rendering a task's Job for a member, creating, following and deleting it."""
