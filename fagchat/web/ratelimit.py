"""A token bucket per client address for the public chat routes (issue 12).

Every client address has a bucket of FAGCHAT_CHAT_RATE_BURST tokens that refills at
FAGCHAT_CHAT_RATE_PER_MINUTE; each chat message or 👍/👎 takes one, and an empty bucket
means 429 with Retry-After. The limit protects the Rasa server (one core per process,
docs/operations.md) from a script, not from a busy office: many colleagues behind one
company or municipal address share a bucket, so the defaults are generous.

Kept in the web process's memory: one bucket per address seen recently, the least recent
forgotten beyond `max_clients` (a forgotten client merely starts with a full bucket).
"""

import ipaddress
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

MAX_CLIENTS = 100_000  # about 10 MB of buckets
EPSILON = 1e-9  # refilled fractions add up to 0.999...: still a whole token


def client_key(address: str) -> str:
    """The bucket an address uses: itself, or for IPv6 its /64 (one subscriber's network)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    limited: bool = False  # refused since it was last served (one log line per episode)
    reported: bool = False


class RateLimiter:
    """Token buckets by client key: `burst` at once, then `per_minute` on average."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        """Allow `burst` requests at once and `per_minute` per minute after that."""
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")
        self.rate, self.burst = per_minute / 60.0, float(burst)
        self.clock, self.max_clients = clock, max_clients
        self._buckets: "OrderedDict[str, _Bucket]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take a token for `key`: 0 when the request may go on, else seconds to wait."""
        now = self.clock()
        bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        self._buckets[key] = bucket  # most recent last
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1 - EPSILON:
            bucket.tokens = max(0.0, bucket.tokens - 1)
            bucket.limited = bucket.reported = False
            return 0.0
        bucket.limited = True
        return (1 - bucket.tokens) / self.rate

    def newly_limited(self, key: str) -> bool:
        """Whether `key` was refused and this is the first time anyone asks since."""
        bucket = self._buckets.get(key)
        if bucket is None or not bucket.limited or bucket.reported:
            return False
        bucket.reported = True
        return True
