"""A checkout worker that sends structured logs with sentry-python's logs API.

Usage: python structured_logs_app.py DSN RUN_TOKEN
``sentry_sdk.logger`` lines carry a template, named parameters and attributes; a record of
the standard ``logging`` module becomes a log line too (the logging integration forwards
records at INFO and above when logs are enabled), with positional parameters.
"""

from __future__ import annotations

import logging
import sys

import sentry_sdk
import sentry_sdk.logger


def main(dsn: str, token: str) -> None:
    sentry_sdk.init(dsn=dsn, enable_logs=True, release="checkout@3.1.0",
                    environment="sdk-matrix")
    sentry_sdk.logger.info("order {order_id} accepted in run {run}", order_id="A-17",
                           run=token, attributes={"shop.region": "eu", "items": 3})
    sentry_sdk.logger.error("order {order_id} failed in run {run}", order_id="B-2",
                            run=token, attributes={"payment.retry": True})
    logging.getLogger("checkout.worker").warning("stock for %s low in run %s", "sku-9", token)
    sentry_sdk.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
