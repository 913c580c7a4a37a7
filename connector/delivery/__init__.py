"""Delivery: the outbox worker (``worker``) that carries stored exchanges to partner systems,
with the retry schedule (``retry``), the per-partner circuit breaker (``breaker``) and the zeep
clients of the partner contracts (``clients``)."""
