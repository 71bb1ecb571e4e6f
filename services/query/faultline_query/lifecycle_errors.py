"""Errors of the lifecycle writes; their messages are safe to show to the caller."""

from __future__ import annotations


class LifecycleError(Exception):
    """Base of the lifecycle errors."""


class Invalid(LifecycleError):
    """The request is malformed or not allowed (gRPC INVALID_ARGUMENT)."""


class Missing(LifecycleError):
    """An issue (or hash) is not in the request's project (gRPC NOT_FOUND)."""
