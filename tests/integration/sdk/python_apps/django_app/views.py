"""Views of the minimal Django project: a real session login and a failing refund."""

from __future__ import annotations

import json
from typing import Any

import sentry_sdk
from django.contrib.auth import authenticate, login  # type: ignore[import-untyped]
from django.http import JsonResponse  # type: ignore[import-untyped]


class DjangoRefundError(Exception):
    """A refund was requested for an order the shop does not know."""


def login_view(request: Any) -> Any:
    """Log in with a form-encoded username and password (a Django session)."""
    user = authenticate(request, username=request.POST.get("username"),
                        password=request.POST.get("password"))
    if user is None:
        return JsonResponse({"error": "invalid credentials"}, status=403)
    login(request, user)
    return JsonResponse({"username": user.get_username()})


def find_payment(order_id: int) -> dict[str, int]:
    payments = {1: {"cents": 1999}}
    return payments[order_id]


def refund_view(request: Any, order_id: int) -> Any:
    """Refund an order; unknown orders fail with a chained exception."""
    body = json.loads(request.body)
    sentry_sdk.set_tag("order.id", str(order_id))
    sentry_sdk.add_breadcrumb(category="refund", message=f"refund requested for {order_id}")
    try:
        payment = find_payment(order_id)
    except KeyError as exc:
        raise DjangoRefundError(f"no payment for order {order_id} in run {body['run']}") from exc
    return JsonResponse({"refunded": payment["cents"]})

