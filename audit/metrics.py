"""Prometheus collectors, all prefixed `guardgate_`, in a registry the app owns.

Labels are bounded: route templates, model names from the policy's allow-list or the
backend, rule ids, actions, detector names and entity types. Never request ids or text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Fine below 10 ms, where the gateway's own costs are and where bucket interpolation would otherwise blur them.
_FINE_BUCKETS = (0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.00125, 0.0015, 0.00175, 0.002, 0.0025,
                 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)


class GatewayMetrics:
    """Every collector the gateway exports. One instance per app; tests build their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter("guardgate_requests", "Requests answered, by route, model and HTTP status.",
                                ["route", "model", "status"], registry=r)
        self.decisions = Counter("guardgate_decisions", "Rule findings and errors, by stage, rule and action.",
                                 ["stage", "rule", "action"], registry=r)
        self.pii_entities = Counter("guardgate_pii_entities", "PII entities found, by stage and entity type.",
                                    ["stage", "entity_type"], registry=r)
        self.detector_seconds = Histogram("guardgate_detector_seconds", "Time one detector call took.",
                                          ["detector", "rule"], buckets=_LATENCY_BUCKETS, registry=r)
        self.gateway_seconds = Histogram("guardgate_gateway_added_seconds",
                                         "Time a request spent in the gateway outside the upstream call.",
                                         ["route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.upstream_seconds = Histogram("guardgate_upstream_seconds", "Time the upstream call took.",
                                          ["route", "model"], buckets=_LATENCY_BUCKETS, registry=r)
        self.ttft_seconds = Histogram("guardgate_time_to_first_token_seconds",
                                      "Time from request arrival to the first content byte sent to the client.",
                                      ["route", "model"], buckets=_LATENCY_BUCKETS, registry=r)
        self.stream_added_seconds = Histogram(
            "guardgate_stream_added_seconds",
            "Time the gateway added to a streamed chunk beyond the hold-back its text forces: from the arrival of "
            "the backend chunk that made it releasable to sending it; for the first chunk (at=first), plus the "
            "time from request arrival to the backend call.", ["route", "at"], buckets=_FINE_BUCKETS, registry=r)
        self.audit_queue_depth = Gauge("guardgate_audit_queue_depth", "Audit records waiting to be written.",
                                       registry=r)
        self.audit_write_errors = Counter("guardgate_audit_write_errors", "Audit batches that failed to write.",
                                          registry=r)
        self.policy_errors = Counter("guardgate_policy_errors",
                                     "Detector errors and time-outs, by rule and the on_error outcome "
                                     "(outcome=allow is a bypass).", ["stage", "rule", "outcome"], registry=r)
        self.policy_reloads = Counter("guardgate_policy_reloads", "Policy reload attempts, by result.",
                                      ["result"], registry=r)
