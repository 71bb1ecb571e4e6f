"""The metrics that operating Faultline relies on (issue 3) exist, with low-cardinality labels.

Each service declares its metrics in its own ``metrics.py``; this reads them as
prometheus-client sees them: family name, type and label names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import ModuleType

import pytest
from prometheus_client.metrics import MetricWrapperBase

from faultline_processor import metrics as processor_metrics
from faultline_query import metrics as query_metrics
from faultline_relay import metrics as relay_metrics
from faultline_web import metrics as web_metrics

SERVICE_METRICS = (relay_metrics, processor_metrics, query_metrics, web_metrics)
# A label whose values are ids (event, issue, project, trace...) has unbounded cardinality.
ID_LIKE_LABEL = re.compile(r"(^|_)(ids?|uuid|hash|key|event|issue|project|trace|user)(_|$)")


@dataclass(frozen=True)
class Expected:
    module: ModuleType
    family: str
    type: str
    labels: frozenset[str]


def expected(module: ModuleType, family: str, type_: str, *labels: str) -> Expected:
    return Expected(module, family, type_, frozenset(labels))


CATALOGUE = [
    # relay: ingest requests by outcome and endpoint, bytes received, bus produce latency
    expected(relay_metrics, "faultline_relay_requests", "counter", "endpoint", "outcome"),
    expected(relay_metrics, "faultline_relay_received_bytes", "counter", "endpoint"),
    expected(relay_metrics, "faultline_relay_publish_seconds", "histogram", "backend"),
    # relay (issue 4): envelope items by type, quota refusals, UDP datagrams by outcome
    expected(relay_metrics, "faultline_relay_items", "counter", "type", "action"),
    expected(relay_metrics, "faultline_relay_rate_limited_events", "counter", "reason",
             "category"),
    expected(relay_metrics, "faultline_relay_udp_datagrams", "counter", "outcome"),
    # processor: lag, batch size, write latency per sink, end-to-end latency, DLQ count
    expected(processor_metrics, "faultline_processor_consumer_lag", "gauge", "partition"),
    expected(processor_metrics, "faultline_processor_batch_size", "histogram"),
    expected(processor_metrics, "faultline_processor_write_seconds", "histogram", "sink"),
    expected(processor_metrics, "faultline_processor_end_to_end_seconds", "histogram"),
    expected(processor_metrics, "faultline_processor_dlq_messages", "counter", "reason"),
    expected(processor_metrics, "faultline_processor_items_written", "counter", "item_type"),
    # query: gRPC request latency by method
    expected(query_metrics, "faultline_grpc_request_seconds", "histogram", "method", "code"),
]


def declared(module: ModuleType) -> dict[str, MetricWrapperBase]:
    """The module's metrics by family name (counters' family names drop ``_total``)."""
    found: dict[str, MetricWrapperBase] = {}
    for value in vars(module).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                found[family.name] = value
    return found


def label_names(metric: MetricWrapperBase) -> frozenset[str]:
    # prometheus-client keeps a metric's label names only in this attribute.
    names: tuple[str, ...] = metric._labelnames
    return frozenset(names)


def family_type(metric: MetricWrapperBase) -> str:
    [family] = metric.describe()
    return family.type


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.family)
def test_metric_exists_with_the_expected_labels(entry: Expected) -> None:
    metrics = declared(entry.module)
    assert entry.family in metrics, f"{entry.module.__name__} lacks {entry.family}"
    metric = metrics[entry.family]

    assert family_type(metric) == entry.type
    assert label_names(metric) == entry.labels
    if entry.labels:
        # The metric takes exactly these labels (and then serves a series for them).
        values = dict.fromkeys(sorted(entry.labels), "catalogue-check")
        child = metric.labels(**values)
        assert child is metric.labels(**values)
        metric.remove(*(values[name] for name in metric._labelnames))
    else:
        with pytest.raises(ValueError, match="label"):
            metric.labels(unexpected="x")


@pytest.mark.parametrize("module", SERVICE_METRICS, ids=lambda module: module.__name__)
def test_no_metric_is_labelled_with_an_id(module: ModuleType) -> None:
    metrics = declared(module)
    assert metrics, f"{module.__name__} declares no metrics"
    for name, metric in metrics.items():
        assert name.startswith("faultline_"), name
        id_like = sorted(label for label in label_names(metric) if ID_LIKE_LABEL.search(label))
        assert not id_like, f"{name} is labelled by {id_like}"


def test_the_id_pattern_catches_id_labels() -> None:
    for label in ("event_id", "issue", "project_id", "trace_id", "id", "group_hash"):
        assert ID_LIKE_LABEL.search(label), label
    for label in ("endpoint", "outcome", "partition", "sink", "reason", "method", "backend"):
        assert not ID_LIKE_LABEL.search(label), label
