"""URL routes of the minimal Django project."""

from __future__ import annotations

from django.urls import path  # type: ignore[import-untyped]

from . import views

urlpatterns = [
    path("login/", views.login_view),
    path("orders/<int:order_id>/refund/", views.refund_view),
]
