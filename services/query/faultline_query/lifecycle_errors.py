"""Errors of the lifecycle writes; their messages are safe to show to the caller.

They are the servicer's own status errors (:mod:`rpc_status`) under the names the
lifecycle modules raise, so every RPC maps them to the same gRPC codes.
"""

from __future__ import annotations

from faultline_query.rpc_status import InvalidArgument, NotFound


class Invalid(InvalidArgument):
    """The request is malformed or not allowed (gRPC INVALID_ARGUMENT)."""


class Missing(NotFound):
    """An issue (or hash) is not in the request's project (gRPC NOT_FOUND)."""
