"""A trained model's identity: the SHA-256 of its file, and how it travels as an HTTP ETag.

Rasa's model server protocol (rasa/core/agent.py, `_pull_model_and_fingerprint`) sends the
fingerprint of the model it has as `If-None-Match` and keeps the `ETag` of a new model as
its next fingerprint. The staff app's model server (fagchat/staff/model_server.py) and the
Rasa process (fagchat/rasa_patches.py, patch 6) both name a model by `etag(fingerprint(f))`,
so a Rasa that loaded the same file from disk is told 304 and loads nothing twice.
"""

import hashlib
import threading
from pathlib import Path
from typing import Dict, Optional, Tuple

_CHUNK = 1 << 20
_cache: Dict[str, Tuple[int, int, str]] = {}  # path -> (size, mtime_ns, sha256)
_lock = threading.Lock()


def fingerprint(path: Path) -> str:
    """The SHA-256 (hex) of the file at `path`, computed again only when it changed."""
    stat = Path(path).stat()
    key = str(Path(path).resolve())
    with _lock:
        known = _cache.get(key)
    if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
        return known[2]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    with _lock:
        _cache[key] = (stat.st_size, stat.st_mtime_ns, digest.hexdigest())
    return digest.hexdigest()


def etag(sha256: str) -> str:
    """The ETag header value of a model with this hash (a quoted strong validator)."""
    return f'"{sha256}"'


def matches(if_none_match: Optional[str], sha256: str) -> bool:
    """Whether an If-None-Match header names the model with this hash (quoted or not, W/ or not)."""
    for tag in (if_none_match or "").split(","):
        tag = tag.strip()
        tag = tag[2:] if tag.startswith("W/") else tag
        if tag == "*" or tag.strip('"') == sha256:
            return True
    return False
