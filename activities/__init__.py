"""Temporal activities: the engine's side effects (checks, notifications, read-model projection)."""
