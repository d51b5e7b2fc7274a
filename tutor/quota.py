"""Per-user daily quotas of tutor requests.

Counted per user and UTC day, in Redis when :attr:`DailyQuota.redis_url` is set (one
``INCR``ed key per user and day, expiring after the day) so every tutor process
shares them, and in this process otherwise or while Redis is down.
Short-term rate limits (token buckets) are the judge service's
:class:`codetutor.ratelimit.RateLimiter`, reused here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from traitlets import Dict, Integer, Unicode
from traitlets.config import LoggingConfigurable


@dataclass(frozen=True)
class QuotaDecision:
    """Whether a user may make one more request today, and what is left."""

    allowed: bool
    used: int
    limit: int
    retry_after_s: int = 0


def _day_and_reset(now: float) -> tuple[str, int]:
    moment = datetime.fromtimestamp(now, UTC)
    tomorrow = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.strftime("%Y-%m-%d"), max(1, int(tomorrow.timestamp() - now))


class DailyQuota(LoggingConfigurable):
    """Counts each user's tutor requests per UTC day against a limit."""

    daily_limit = Integer(
        200, help="Tutor requests (chat turns, hints, reviews) per user per UTC day; 0: no limit."
    ).tag(config=True)
    class_limits = Dict(
        {},
        help="""Per-class daily limits: class (group) name -> requests per user per day.
        A user in several classes gets the largest of their classes' limits.""",
    ).tag(config=True)
    redis_url = Unicode("", help="Redis holding the counters; empty: this process.").tag(
        config=True
    )
    prefix = Unicode("codetutor:quota:", help="Prefix of the counter keys in Redis.").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._local: dict[str, int] = {}
        self._redis: Any = None
        if self.redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(
                self.redis_url, socket_timeout=1, socket_connect_timeout=1
            )

    def limit_for(self, groups: list[str] | None = None) -> int:
        """The daily limit of a user in ``groups`` (0: unlimited)."""
        limits = [int(self.class_limits[g]) for g in groups or [] if g in self.class_limits]
        return max(limits) if limits else self.daily_limit

    async def take(self, user: str, groups: list[str] | None = None) -> QuotaDecision:
        """Coroutine: count one request of ``user``; refuse if today's limit is used up."""
        limit = self.limit_for(groups)
        now = time.time()
        day, reset_s = _day_and_reset(now)
        key = f"{self.prefix}{day}:{user}"
        used = await self._increment(key, reset_s)
        if limit and used > limit:
            return QuotaDecision(False, used - 1, limit, reset_s)
        return QuotaDecision(True, used, limit)

    async def _increment(self, key: str, ttl_s: int) -> int:
        if self._redis is not None:
            from redis.exceptions import RedisError

            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, ttl_s + 60)
                    count, _ = await pipe.execute()
                return int(count)
            except (RedisError, OSError) as e:
                self.log.warning("daily quotas fall back to this process: Redis %s", e)
        if len(self._local) > 100_000:
            today = key.split(":")[-2]
            self._local = {k: v for k, v in self._local.items() if today in k}
        self._local[key] = self._local.get(key, 0) + 1
        return self._local[key]

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
