"""Token-bucket rate limits per user and per endpoint (SPEC.md section 7).

Buckets live in Redis (one hash per user and endpoint, updated atomically by
a Lua script on the Redis clock) so that every service process shares them.
When Redis is unavailable the limiter keeps working with buckets in this
process (less exact with several processes, never blocking anyone's work)
and tries Redis again after :attr:`RateLimiter.retry_redis_s`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from traitlets import Dict, Float, Unicode, validate
from traitlets.config import LoggingConfigurable

#: KEYS[1]: the bucket; ARGV: rate (tokens/s), burst, cost. Returns
#: {allowed (0|1), milliseconds until a token is there}.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait_ms = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, wait_ms}
"""


@dataclass(frozen=True)
class Decision:
    """Whether a request may go on, and if not, after how many seconds to retry."""

    allowed: bool
    retry_after_s: float = 0.0

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after_s)))


class _Bucket:
    __slots__ = ("tokens", "ts")

    def __init__(self, tokens: float, ts: float) -> None:
        self.tokens = tokens
        self.ts = ts


class RateLimiter(LoggingConfigurable):
    """Token buckets keyed by (limit class, endpoint, user)."""

    limits = Dict(
        {
            "api": {"rate": 10.0, "burst": 20},
            "ai": {"rate": 1.0, "burst": 5},
            "login": {"rate": 5 / 60, "burst": 3},
        },
        help="""Limit classes: name -> {"rate": tokens per second, "burst": bucket size}.

        Defaults from SPEC.md section 7: API 10 r/s burst 20, AI burst 5,
        login 5 r/min burst 3.""",
    ).tag(config=True)

    @validate("limits")
    def _check_limits(self, proposal: Any) -> dict[str, Any]:
        for name, limit in proposal["value"].items():
            if float(limit.get("rate", 0)) <= 0 or float(limit.get("burst", 0)) < 1:
                raise ValueError(f"limit {name!r} needs rate > 0 and burst >= 1")
        return dict(proposal["value"])

    redis_url = Unicode("", help="Redis holding the buckets; empty: in-process buckets.").tag(
        config=True
    )

    prefix = Unicode("codetutor:ratelimit:", help="Prefix of the bucket keys in Redis.").tag(
        config=True
    )

    retry_redis_s = Float(5.0, help="While Redis is down, how often to try it again.").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._local: dict[str, _Bucket] = {}
        self._redis: aioredis.Redis | None = None
        self._script: Any = None
        self._down_since: float | None = None
        if self.redis_url:
            self._redis = aioredis.Redis.from_url(
                self.redis_url, socket_timeout=1, socket_connect_timeout=1
            )
            self._script = self._redis.register_script(_TOKEN_BUCKET)

    @property
    def using_redis(self) -> bool:
        return self._redis is not None and self._down_since is None

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def hit(self, limit: str, endpoint: str, user: str, cost: float = 1.0) -> Decision:
        """Take ``cost`` tokens from the bucket of ``user`` at ``endpoint`` (coroutine)."""
        spec = self.limits[limit]
        rate, burst = float(spec["rate"]), float(spec["burst"])
        key = f"{self.prefix}{limit}:{endpoint}:{user}"
        if self._redis is not None and (
            self._down_since is None or time.monotonic() - self._down_since >= self.retry_redis_s
        ):
            try:
                allowed, wait_ms = await self._script(keys=[key], args=[rate, burst, cost])
            except (RedisError, OSError) as e:
                if self._down_since is None:
                    self.log.warning("rate limits fall back to this process: Redis %s", e)
                self._down_since = time.monotonic()
            else:
                if self._down_since is not None:
                    self.log.info("rate limits are back in Redis")
                    self._down_since = None
                return Decision(bool(allowed), int(wait_ms) / 1000)
        return self._hit_local(key, rate, burst, cost)

    def _hit_local(self, key: str, rate: float, burst: float, cost: float) -> Decision:
        now = time.monotonic()
        bucket = self._local.get(key)
        if bucket is None:
            bucket = self._local[key] = _Bucket(burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.ts) * rate)
        bucket.ts = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return Decision(True)
        if len(self._local) > 100_000:
            self._local = {k: b for k, b in self._local.items() if now - b.ts < burst / rate}
        return Decision(False, (cost - bucket.tokens) / rate)
