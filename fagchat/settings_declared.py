"""Every setting of Fagchat, declared once in fagchat/settings.yml: environment variable, default, help.

Read them through `fagchat.settings` (`settings.current()`, `settings.read(env)`); this
module only loads and checks the table, so that the reader stays small. The table is data,
not code: a new setting is three lines of YAML. The README's settings table and
deploy/systemd/fagchat.env.example mirror it, and tests check that they do.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict

from fagchat import yamlsafe

TABLE = Path(__file__).with_name("settings.yml")
NAME = re.compile(r"FAGCHAT_[A-Z0-9_]+")


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default and a line of help."""

    name: str
    default: str
    help: str


def load(path: Path = TABLE) -> Dict[str, Setting]:
    """The settings of `path`, checked: a FAGCHAT_ name, a string default and some help each.

    A mistake in the table stops every process at import with the entry named, rather than
    leaving a setting that reads as None somewhere later.
    """
    text = path.read_text(encoding="utf-8")
    table: Any = yamlsafe.safe_load(text)
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{path.name}: expected a mapping of settings")
    keys = re.findall(r"^(\S+):", text, re.M)
    if len(keys) != len(table):  # YAML keeps the last of two equal keys without a word
        twice = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"{path.name}: declared twice: {', '.join(twice)}")
    found: Dict[str, Setting] = {}
    for name, entry in table.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValueError(f"{path.name}: {name!r} is not a FAGCHAT_ name")
        if not isinstance(entry, dict) or set(entry) != {"default", "help"}:
            raise ValueError(f"{path.name}: {name} needs exactly 'default' and 'help'")
        if not isinstance(entry["default"], str) or not isinstance(entry["help"], str) or not entry["help"].strip():
            raise ValueError(f"{path.name}: {name} needs a quoted default and a line of help")
        found[name] = Setting(name, entry["default"], entry["help"].strip())
    return found


SETTINGS: Dict[str, Setting] = load()
