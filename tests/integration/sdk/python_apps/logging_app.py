"""A nightly billing job whose log records reach Sentry through the logging integration.

Usage: python logging_app.py DSN RUN_TOKEN
``logger.info`` records become breadcrumbs; ``logger.error`` becomes a message event (a
logentry with template and parameters); ``logger.exception`` becomes an event carrying
the chained exception and its stack trace.
"""

from __future__ import annotations

import logging
import sys

import sentry_sdk

log = logging.getLogger("billing.nightly")


class LoggingChargeError(Exception):
    """The payment provider refused a charge."""


def charge(customer: str, cents: int) -> None:
    balances = {"acme": 1200}
    try:
        if balances[customer] < cents:
            raise ValueError(f"balance below {cents}")
    except KeyError as exc:
        raise LoggingChargeError(f"no billing account for {customer}") from exc


def run_invoices(run_token: str) -> None:
    log.info("starting invoice run %s", run_token)
    log.warning("exchange rates are %d hours old", 30)
    log.error("Invoice export failed for %d customers in run %s", 3, run_token)
    try:
        charge("globex", 4200)
    except LoggingChargeError:
        log.exception("Could not charge customer in run %s", run_token)


def main() -> None:
    dsn, run_token = sys.argv[1], sys.argv[2]
    # The logging integration is a default one. Auto-enabling is off because Django and
    # Flask share this virtualenv and would otherwise give the SDK their name.
    sentry_sdk.init(dsn=dsn, release="billing@7.1.0", environment="sdk-matrix",
                    auto_enabling_integrations=False)
    sentry_sdk.set_tag("job", "nightly-invoices")
    run_invoices(run_token)
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    main()
