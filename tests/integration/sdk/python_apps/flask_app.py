"""A small Flask shop reporting to Sentry through the real sentry-sdk Flask integration.

Usage: SENTRY_DSN=... python flask_app.py PORT
Serves on 127.0.0.1:PORT with Flask's built-in server. ``POST /carts/<cart_id>/checkout``
with ``{"sku": ..., "quantity": ..., "run": ...}`` fails with a chained exception (a
``FlaskCheckoutError`` raised from the ``KeyError`` of an unknown SKU).
"""

from __future__ import annotations

import os
import sys

import sentry_sdk
from flask import Flask, request
from sentry_sdk.integrations.flask import FlaskIntegration


class FlaskCheckoutError(Exception):
    """The checkout could not reserve the stock it was asked for."""


def reserve_stock(sku: str, quantity: int) -> int:
    stock = {"apple": 3, "pear": 5}
    return stock[sku] - quantity


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/carts/<cart_id>/checkout")
    def checkout(cart_id: str) -> dict[str, int]:
        order = request.get_json()
        sentry_sdk.set_tag("cart.id", cart_id)
        sentry_sdk.set_user({"id": "flask-shopper-7", "email": "shopper@example.com"})
        sentry_sdk.add_breadcrumb(category="cart", message=f"checking out cart {cart_id}",
                                  level="info")
        try:
            left = reserve_stock(order["sku"], int(order["quantity"]))
        except KeyError as exc:
            raise FlaskCheckoutError(
                f"cannot reserve {order['sku']} for run {order['run']}"
            ) from exc
        return {"left": left}

    return app


def main() -> None:
    sentry_sdk.init(
        dsn=os.environ["SENTRY_DSN"],
        release="flask-shop@2.0.1",
        environment="sdk-matrix",
        send_default_pii=True,
        max_request_body_size="always",
        # Django is installed in the same virtualenv; auto-enabled, it would also name
        # the SDK ("sentry.python.django") in a Flask app.
        auto_enabling_integrations=False,
        integrations=[FlaskIntegration()],
    )
    create_app().run(host="127.0.0.1", port=int(sys.argv[1]))


if __name__ == "__main__":
    main()
