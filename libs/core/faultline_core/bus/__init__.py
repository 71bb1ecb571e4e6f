"""The event bus: a small producer/consumer interface with Kafka and embedded adapters."""

from faultline_core.bus.base import BusConsumer, BusMessage, BusProducer, Partition

__all__ = ["BusConsumer", "BusMessage", "BusProducer", "Partition"]
