"""Golden envelopes from the real Python SDKs (sentry-sdk with Flask, Django and logging,
and sentry-cli) parse and normalise into the events Sentry would show.

The fixtures are re-captured by ``tests/fixtures/sdk/python/capture_python_fixtures.py``.
"""

from __future__ import annotations

from faultline_core.event import NormalizedEvent
from faultline_core.grouping import compute_grouping
from tests.sdk_fixtures import exceptions, frames, load_fixture_envelope, normalize_fixture_event

CLIENT_IP = "198.51.100.23"


def load(name: str) -> NormalizedEvent:
    return normalize_fixture_event(load_fixture_envelope("python", name), 5, CLIENT_IP)


def headers(event: NormalizedEvent) -> dict[str, str]:
    return dict(event.data["request"]["headers"])


def test_flask_exception_keeps_chain_request_user_and_breadcrumbs() -> None:
    event = load("flask_exception.envelope")

    assert event.platform == "python" and event.data["sdk"]["name"] == "sentry.python.flask"
    assert "flask" in event.data["sdk"]["integrations"]
    assert event.title == "FlaskCheckoutError: cannot reserve durian for run rfixture01"
    assert event.culprit == "checkout"
    cause, error = exceptions(event)
    assert (cause["type"], cause["value"]) == ("KeyError", "'durian'")
    assert error["mechanism"] == {"type": "flask", "handled": False}
    inner = frames(error)[-1]
    assert inner["function"] == "checkout" and inner["in_app"] is True
    assert "raise FlaskCheckoutError(" in inner["context_line"] and inner["pre_context"]
    assert frames(error)[0]["in_app"] is False  # Flask's own wsgi_app
    assert [f["function"] for f in frames(cause)] == ["checkout", "reserve_stock"]
    request = event.data["request"]
    assert request["method"] == "POST"
    assert request["url"].endswith("/carts/c-981/checkout")
    assert request["query_string"] == [["coupon", "SPRING"]]
    assert request["data"] == {"sku": "durian", "quantity": 2, "run": "rfixture01"}
    assert headers(event)["X-Request-Source"] == "sdk-matrix"
    assert event.user.id == "flask-shopper-7" and event.user.email == "shopper@example.com"
    assert ("cart.id", "c-981") in event.tags and ("browser.name", "Chrome") in event.tags
    assert event.data["contexts"]["runtime"]["name"] == "CPython"
    crumbs = event.data["breadcrumbs"]["values"]
    assert crumbs[-1]["message"] == "checking out cart c-981"


def test_django_exception_carries_the_logged_in_user() -> None:
    event = load("django_exception.envelope")

    assert event.platform == "python" and event.data["sdk"]["name"] == "sentry.python.django"
    assert event.title == "DjangoRefundError: no payment for order 404 in run rfixture01"
    assert event.transaction == "/orders/{order_id}/refund/"
    assert event.user.id == "1" and event.user.username == "ada"
    assert event.user.email == "ada@orders.example.com"
    cause, error = exceptions(event)
    assert cause["type"] == "KeyError" and error["mechanism"]["type"] == "django"
    assert [(f["function"], f["in_app"]) for f in frames(cause)] == [
        ("refund_view", True), ("find_payment", True),
    ]
    assert frames(error)[-1]["function"] == "refund_view"
    assert all(f["in_app"] is False for f in frames(error)[:-1])
    request = event.data["request"]
    assert request["method"] == "POST" and request["url"].endswith("/orders/404/refund/")
    assert request["query_string"] == [["reason", "damaged"]]
    assert request["data"] == {"run": "rfixture01", "amount": 1999}
    # send_default_pii sends cookies, but the SDK still filters the session cookie.
    assert request["cookies"] == [["sessionid", "[Filtered]"]]
    assert headers(event)["Content-Type"] == "application/json"
    assert ("order.id", "404") in event.tags
    assert event.data["breadcrumbs"]["values"][-1]["category"] == "refund"


def test_logging_error_is_a_message_event_with_template_and_params() -> None:
    event = load("logging_error_message.envelope")

    assert event.data["sdk"]["name"] == "sentry.python" and event.logger == "billing.nightly"
    assert event.data["type"] == "default" and "exception" not in event.data
    assert event.data["logentry"] == {
        "message": "Invoice export failed for %d customers in run %s",
        "formatted": "Invoice export failed for 3 customers in run rfixture01",
        "params": [3, "rfixture01"],
    }
    assert event.title == "Invoice export failed for 3 customers in run rfixture01"
    assert ("job", "nightly-invoices") in event.tags
    crumbs = event.data["breadcrumbs"]["values"]
    assert [(c["type"], c["level"]) for c in crumbs] == [("log", "warning")]
    # Grouped by the template, so each run's token does not split the issue.
    grouping = compute_grouping(event.data)
    assert "Invoice export failed for <int> customers" not in str(grouping.components)
    assert "%d customers in run %s" in str(grouping.components)


def test_logging_exception_carries_the_stack_trace() -> None:
    event = load("logging_exception.envelope")

    assert event.title == "LoggingChargeError: no billing account for globex"
    assert event.message.startswith("Could not charge customer in run rfixture01")
    cause, error = exceptions(event)
    assert cause["type"] == "KeyError"
    assert error["mechanism"] == {"type": "logging", "handled": True}
    assert [(f["function"], f["in_app"]) for f in frames(error)] == [
        ("run_invoices", True), ("charge", True),
    ]
    assert "raise LoggingChargeError(" in frames(error)[-1]["context_line"]
    assert event.culprit == "__main__ in charge"


def test_sentry_cli_message_is_formatted_from_its_params() -> None:
    event = load("sentry_cli_send_event.envelope")

    assert event.platform == "native"
    assert event.data["sdk"] == {"name": "sentry-cli", "version": "3.8.2"}
    # sentry-cli sends only the template and its arguments; Sentry formats them.
    assert event.data["logentry"] == {
        "message": "Deploy of %s failed in run rfixture01",
        "params": ["prod"],
        "formatted": "Deploy of prod failed in run rfixture01",
    }
    assert event.title == event.message == "Deploy of prod failed in run rfixture01"
    assert event.release == "deploy@5.0.0" and event.environment == "sdk-matrix"
    assert ("stage", "rollout") in event.tags
    assert event.user.id == "deployer-1" and event.user.ip_address == CLIENT_IP
    assert event.data["contexts"]["os"]["name"] == "Linux"
    assert event.data["contexts"]["rust"]["type"] == "runtime"
