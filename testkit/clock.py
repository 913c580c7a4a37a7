"""A clock a test moves by hand, for the delivery worker (``DeliveryWorker(clock=...)``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from connector.clock import utcnow


class StepClock:
    """The worker's clock; starts a second ahead so that what was just queued is due."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
