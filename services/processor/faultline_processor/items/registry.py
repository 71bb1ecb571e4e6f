"""Which handler takes which item type. Add a handler here to support a new item type."""

from __future__ import annotations

from collections.abc import Mapping

from faultline_processor.items.attachments import AttachmentHandler
from faultline_processor.items.base import ItemHandler
from faultline_processor.items.client_reports import ClientReportHandler
from faultline_processor.items.logs import LogHandler
from faultline_processor.items.sessions import SessionsHandler
from faultline_processor.items.transactions import TransactionHandler
from faultline_processor.items.user_reports import UserReportHandler

_HANDLERS: tuple[ItemHandler, ...] = (
    AttachmentHandler(),
    ClientReportHandler(),
    LogHandler(),
    SessionsHandler(),
    TransactionHandler(),
    UserReportHandler(),
)


def _by_type(handlers: tuple[ItemHandler, ...]) -> Mapping[str, ItemHandler]:
    table: dict[str, ItemHandler] = {}
    for handler in handlers:
        for item_type in handler.item_types:
            if item_type in table:
                raise RuntimeError(f"two handlers for item type {item_type!r}")
            table[item_type] = handler
    return table


ITEM_HANDLERS: Mapping[str, ItemHandler] = _by_type(_HANDLERS)
