"""Token buckets in PostgreSQL (`rate_limits`): one atomic upsert per request.

The row lock taken by INSERT … ON CONFLICT DO UPDATE serialises concurrent requests on a
bucket, so N parallel requests can never spend more than the bucket holds. Runs on its own
short autocommit connection so no request transaction holds the lock.
"""

from __future__ import annotations

import math

from sqlalchemy import text

from cliply.db.engine import get_engine
from cliply.errors import RateLimited

_TAKE = text("""
INSERT INTO rate_limits (bucket, tokens, updated_at)
VALUES (:bucket, :capacity - 1, clock_timestamp())
ON CONFLICT (bucket) DO UPDATE SET
    tokens = LEAST(:capacity, GREATEST(rate_limits.tokens, 0)
             + EXTRACT(EPOCH FROM clock_timestamp() - rate_limits.updated_at) * :rate) - 1,
    updated_at = clock_timestamp()
RETURNING tokens
""")


def take(bucket: str, per_minute: int) -> float:
    """Spend one token; returns what is left (negative: refused)."""
    with get_engine().connect() as conn:
        left = float(
            conn.execute(
                _TAKE, {"bucket": bucket, "capacity": per_minute, "rate": per_minute / 60.0}
            ).scalar_one()
        )
        conn.commit()
    return left


def enforce(bucket: str, per_minute: int) -> None:
    left = take(bucket, per_minute)
    if left < 0:
        raise RateLimited(retry_after=max(1, math.ceil(-left / (per_minute / 60.0))))
