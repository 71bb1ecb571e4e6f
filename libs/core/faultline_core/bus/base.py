"""The bus interface every adapter implements (modelled on arroyo's ``backends/abstract``).

Semantics shared by all adapters, checked by ``tests/contract/test_bus_contract.py``:

* ``BusProducer.publish`` returns only once the message is durable (Kafka: acks=all;
  embedded: committed to PostgreSQL). It raises ``BusUnavailable`` if that cannot be
  done within the adapter's timeout, so the relay can answer 503 instead of 200.
* Messages with the same key keep their order (they land in the same partition).
* ``BusConsumer.poll`` returns at most ``max_messages`` messages, waiting up to
  ``timeout_s`` when none are ready. Redelivery after a restart starts at the last
  committed offset: delivery is at-least-once.
* ``BusConsumer.commit`` takes, per partition, the offset of the *next* message to read.
* ``BusConsumer.lag`` is, per assigned partition, the log's end offset minus the
  consumer's position: how many messages are waiting to be read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class BusUnavailable(Exception):
    """The bus could not durably accept a message in time."""


@dataclass(frozen=True, order=True)
class Partition:
    topic: str
    index: int


@dataclass(frozen=True)
class BusMessage:
    partition: Partition
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int


class BusProducer(Protocol):
    """Publishes messages durably."""

    async def start(self) -> None: ...

    async def publish(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Return once the message is durable; raise ``BusUnavailable`` otherwise."""
        ...

    async def close(self) -> None: ...


class BusConsumer(Protocol):
    """Reads messages of one topic as a member of a consumer group."""

    async def start(self) -> None: ...

    async def poll(self, max_messages: int, timeout_s: float) -> Sequence[BusMessage]:
        """Return the next messages (possibly none after ``timeout_s``)."""
        ...

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Durably record, per partition, the offset of the next message to read."""
        ...

    def pause(self, partitions: Sequence[Partition]) -> None: ...

    def resume(self, partitions: Sequence[Partition]) -> None: ...

    def assignment(self) -> frozenset[Partition]: ...

    async def lag(self) -> Mapping[Partition, int]:
        """Per assigned partition, the messages not yet read (end offset minus position).

        Partitions whose end offset is not known yet (Kafka learns it from fetches) are
        left out; nothing is returned before ``start``. Raises ``BusUnavailable`` when the
        bus cannot be asked.
        """
        ...

    async def close(self) -> None: ...
