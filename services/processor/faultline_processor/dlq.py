"""Dead-lettering: poison messages go to the DLQ topic with the reason attached."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from faultline_core.bus.base import BusProducer
from faultline_processor.prepare import Poison


def dead_letter(poison: Poison) -> bytes:
    """The DLQ envelope: why, where from, and the original bytes (base64)."""
    message = poison.message
    return json.dumps(
        {
            "reason": poison.reason,
            "error": poison.error,
            "topic": message.partition.topic,
            "partition": message.partition.index,
            "offset": message.offset,
            "original": base64.b64encode(message.value).decode("ascii"),
        },
        separators=(",", ":"),
    ).encode()


async def publish_dead_letters(
    producer: BusProducer, topic: str, poison: Sequence[Poison]
) -> None:
    """Publish each poison message, keyed like the original; raises ``BusUnavailable``."""
    for item in poison:
        await producer.publish(topic, item.message.key, dead_letter(item))
