"""The retry schedule for government reality: partner systems of provincial agencies are down for
hours (maintenance windows, nights, network cuts), and the connector must simply wait them out.

Exponential backoff from ``backoff_base`` up to the ceiling ``backoff_max``, then steady retries
at the ceiling until ``retry_horizon`` after the item was queued; each wait is jittered into
[0.5, 1] of its nominal value so that many items do not come back together.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from connector.config import PartnerPolicy

_MAX_DOUBLINGS = 60  # 2**60 seconds is beyond any ceiling; keeps the float finite


def retry_delay(attempt: int, policy: PartnerPolicy, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first)."""
    doublings = min(max(attempt - 1, 0), _MAX_DOUBLINGS)
    nominal = min(policy.backoff_max, policy.backoff_base * 2**doublings)
    return nominal * (0.5 + rng.random() / 2)


def past_horizon(created_at: datetime, now: datetime, policy: PartnerPolicy) -> bool:
    """Whether an item queued at ``created_at`` has been retried long enough to give up."""
    return now - created_at >= timedelta(seconds=policy.retry_horizon)
