"""How often a staff login may be tried, decided and recorded in one step.

Three limits, each a wait before the next try (429 with a Danish message until then):

* **one user name from one client address**: FAGCHAT_STAFF_LOCKOUT_ATTEMPTS failures are
  free; then the wait is FAGCHAT_STAFF_LOCKOUT_MINUTES after the latest failure, and it
  doubles with each further failure (15, 30, 60 minutes, ... up to a day). A guesser at one
  address thus locks out only itself.
* **one client address, any user names**: FAGCHAT_STAFF_ADDRESS_FAILURES failures within
  FAGCHAT_STAFF_LOCKOUT_MINUTES (against guessing many accounts from one place).
* **one user name, all addresses**: a ceiling of CEILING_FACTOR x the free failures within a
  day (against guessing one account from many places).

The ceiling is set so that one address can never reach it: its back-off leaves it about
attempts + log2(day / first wait) failures in any day, 11 or 12 with the defaults (after the
free five: one each at +15, +45, +105, +225, +465 and +945 minutes), far below the ceiling
of 50. Only several addresses together (a distributed attack) lock the account for
everyone, which is then the point.

`reserve()` runs in the transaction of the login: it locks the user's and the address's
guard rows, counts, and records the attempt as a failure *before* the password is checked
(a success takes it back). Parallel logins therefore queue on the lock and see each other's
attempts: 50 at once for one user check at most five passwords (SQLite and PostgreSQL).
"""

from dataclasses import dataclass
from typing import Optional, Tuple

from sqlalchemy.engine import Connection

from fagchat.staff import db_accounts

DAY = 24 * 3600.0
MEMORY = DAY  # failures count this long (the retention purge drops older ones)
CEILING_FACTOR = 10


@dataclass(frozen=True)
class Policy:
    """The three limits (from the settings; see the module's docstring)."""

    attempts: int  # free failures for one user name from one address
    window: float  # seconds: the first wait, and the window of the address limit
    address_failures: int  # failures from one address (any names) within `window`

    @property
    def ceiling(self) -> int:
        """Failures for one user name (all addresses) within a day that lock it."""
        return CEILING_FACTOR * self.attempts


def backoff(failures: int, last: Optional[float], now: float, policy: Policy) -> float:
    """Seconds to wait after `failures` failures (the latest at `last`) for one name and address."""
    if failures < policy.attempts or last is None:
        return 0.0
    delay = min(MEMORY, policy.window * 2 ** min(failures - policy.attempts, 32))
    return max(0.0, last + delay - now)


def reserve(conn: Connection, who: str, address: str, now: float, policy: Policy) -> Tuple[float, Optional[int]]:
    """Check the limits and, if none holds, record this attempt as a failure.

    Args:
        conn: The login's open transaction (it must end right after, so the locks are short).
        who: The account's name, or the hash of what was typed (login.py).
        address: The client's address (addresses.py).
        now: The current time.
        policy: The limits.

    Returns:
        (seconds to wait, None) when refused; (0, id of the recorded attempt) when allowed.
    """
    db_accounts.lock_login_keys(conn, (f"address:{address}", f"user:{who}"), now)
    count, last = db_accounts.failures_of(conn, who, address, now - MEMORY)
    waits = [backoff(count, last, now, policy)]
    nth = db_accounts.nth_newest_failure(conn, policy.ceiling, now - MEMORY, username=who)
    if nth is not None:
        waits.append(nth + MEMORY - now)
    nth = db_accounts.nth_newest_failure(conn, policy.address_failures, now - policy.window, ip=address)
    if nth is not None:
        waits.append(nth + policy.window - now)
    wait = max(waits)
    if wait > 0:
        return wait, None
    return 0.0, db_accounts.add_login_failure(conn, who, address, now)
