"""The processor: consumes ingest messages and writes stored, grouped, counted events."""

from faultline_processor.runner import Processor

__all__ = ["Processor"]
