"""sentry-python in real apps: a Flask server, a Django server with a logged-in user, and a
job whose log records reach Faultline through the logging integration.

Each app runs as its own process with the unchanged SDK and the all-in-one's DSN; the
assertions read what the web API shows.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.allinone import AllInOne
from tests.integration.sdk.conftest import find_issue, latest_event
from tests.integration.sdk.python_apps.runner import (
    DJANGO_USER,
    django_refund,
    django_server,
    flask_checkout,
    flask_server,
    require_tools,
    run_logging_app,
)
from tests.sdk_fixtures import frames


@pytest.fixture(scope="module", autouse=True)
def _python_tools() -> None:
    require_tools()


def new_run_token() -> str:
    # Letters first, so grouping's parameterisation keeps it as a word in messages.
    return "run" + uuid.uuid4().hex[:12]


def issues_titled(aio: AllInOne, text: str) -> list[dict[str, Any]]:
    resp = aio.api("/api/0/projects/default/default/issues/",
                   params={"query": "", "limit": 100})
    resp.raise_for_status()
    return [issue for issue in resp.json() if text in issue["title"]]


def exception_chain(event: dict[str, Any]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = event["exception"]["values"]
    return values


def tag(event: dict[str, Any], key: str) -> str | None:
    return next((t["value"] for t in event["tags"] if t["key"] == key), None)


def request_entry(event: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = next(e for e in event["entries"] if e["type"] == "request")
    return dict(entry["data"])


def assert_python_runtime(event: dict[str, Any]) -> None:
    assert event["platform"] == "python"
    assert event["contexts"]["runtime"]["name"] == "CPython"
    assert tag(event, "runtime.name") == "CPython"


def test_flask_request_error(aio: AllInOne, tmp_path: Path) -> None:
    token = new_run_token()
    title = f"FlaskCheckoutError: cannot reserve durian for run {token}"
    with flask_server(aio.bootstrap["dsn"], tmp_path / "flask.log") as server:
        for _ in range(2):
            assert flask_checkout(server, token).status_code == 500
        issue = find_issue(aio, title, count=2)
    assert [i["id"] for i in issues_titled(aio, token)] == [issue["id"]]
    assert issue["culprit"] == "checkout" and issue["level"] == "error"

    event = latest_event(aio, issue["id"])
    assert event["sdk"]["name"] == "sentry.python.flask"
    assert_python_runtime(event)
    assert event["release"] == "flask-shop@2.0.1" and event["environment"] == "sdk-matrix"
    cause, error = exception_chain(event)
    assert (cause["type"], cause["value"]) == ("KeyError", "'durian'")
    assert error["mechanism"] == {"type": "flask", "handled": False}
    assert [f["function"] for f in frames(cause)] == ["checkout", "reserve_stock"]
    assert frames(error)[0]["in_app"] is False and frames(error)[-1]["in_app"] is True
    assert "raise FlaskCheckoutError(" in frames(error)[-1]["context_line"]
    assert "return stock[sku] - quantity" in frames(cause)[-1]["context_line"]

    request = request_entry(event)
    assert request["method"] == "POST"
    assert request["url"] == f"{server.url}/carts/c-981/checkout"
    assert request["query"] == [["coupon", "SPRING"]]
    assert request["data"] == {"sku": "durian", "quantity": 2, "run": token}
    assert ["X-Request-Source", "sdk-matrix"] in request["headers"]
    assert event["user"]["id"] == "flask-shopper-7"
    assert event["user"]["ip_address"] == "127.0.0.1"
    assert tag(event, "cart.id") == "c-981" and tag(event, "browser.name") == "Chrome"
    assert event["breadcrumbs"]["values"][-1]["message"] == "checking out cart c-981"


def test_django_request_error_with_logged_in_user(aio: AllInOne, tmp_path: Path) -> None:
    token = new_run_token()
    title = f"DjangoRefundError: no payment for order 404 in run {token}"
    with django_server(aio.bootstrap["dsn"], tmp_path) as server:
        for _ in range(2):
            assert django_refund(server, token).status_code == 500
        issue = find_issue(aio, title, count=2)
    assert [i["id"] for i in issues_titled(aio, token)] == [issue["id"]]
    assert issue["culprit"] == "/orders/{order_id}/refund/"

    event = latest_event(aio, issue["id"])
    assert event["sdk"]["name"] == "sentry.python.django"
    assert_python_runtime(event)
    user = event["user"]
    assert user["username"] == DJANGO_USER["username"] and user["email"] == DJANGO_USER["email"]
    assert user["id"] and tag(event, "user") == f"id:{user['id']}"
    cause, error = exception_chain(event)
    assert cause["type"] == "KeyError"
    assert error["mechanism"] == {"type": "django", "handled": False}
    assert [(f["function"], f["in_app"]) for f in frames(cause)] == [
        ("refund_view", True), ("find_payment", True),
    ]
    assert all(f["in_app"] is False for f in frames(error)[:-1])
    assert "raise DjangoRefundError(" in frames(error)[-1]["context_line"]

    request = request_entry(event)
    assert request["method"] == "POST"
    assert request["url"] == f"{server.url}/orders/404/refund/"
    assert request["query"] == [["reason", "damaged"]]
    assert request["data"] == {"run": token, "amount": 1999}
    assert ["Content-Type", "application/json"] in request["headers"]
    assert request["cookies"] == [["sessionid", "[Filtered]"]]
    assert tag(event, "order.id") == "404"
    assert event["breadcrumbs"]["values"][-1]["message"] == "refund requested for 404"


def test_logging_integration_message_and_exception(aio: AllInOne) -> None:
    token = new_run_token()
    run_logging_app(aio.bootstrap["dsn"], token)
    run_logging_app(aio.bootstrap["dsn"], token)
    message_issue = find_issue(aio, f"Invoice export failed for 3 customers in run {token}",
                               count=2)
    error_issue = find_issue(aio, "LoggingChargeError: no billing account for globex", count=2)

    message_event = latest_event(aio, message_issue["id"])
    assert message_event["sdk"]["name"] == "sentry.python"
    assert_python_runtime(message_event)
    assert message_event["logger"] == "billing.nightly" and "exception" not in message_event
    assert message_event["logentry"]["message"] == (
        "Invoice export failed for %d customers in run %s")
    assert message_event["logentry"]["params"] == [3, token]
    assert tag(message_event, "job") == "nightly-invoices"
    crumbs = message_event["breadcrumbs"]["values"]
    assert [(c["category"], c["level"]) for c in crumbs] == [("billing.nightly", "warning")]

    error_event = latest_event(aio, error_issue["id"])
    assert error_event["logentry"]["formatted"] == f"Could not charge customer in run {token}"
    cause, error = exception_chain(error_event)
    assert cause["type"] == "KeyError"
    assert error["mechanism"] == {"type": "logging", "handled": True}
    assert [(f["function"], f["in_app"]) for f in frames(error)] == [
        ("run_invoices", True), ("charge", True),
    ]
    assert "raise LoggingChargeError(" in frames(error)[-1]["context_line"]
    assert error_issue["culprit"] == "__main__ in charge"
