"""Every setting of Fagchat is read here (declared once, with its default and help, in settings.yml).

All processes (launcher, Rasa components, action server, web and staff apps) read their
configuration through this module, so it is the one place to look:

    settings.current().int("FAGCHAT_RASA_PORT")     # this process's environment, read once
    settings.read(env).str("FAGCHAT_HOST")          # another environment (the launcher's children)
    settings.read(overrides={"FAGCHAT_WEB_PORT": "9000"})   # tests

Values come from the environment only (secrets included); a malformed value stops the
process with a message naming the setting. The README's settings table mirrors this list
and a test checks that it does.
"""

import functools
import os
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from fagchat.settings_declared import SETTINGS, Setting  # noqa: F401 - the table, re-exported

ROOT = Path(__file__).resolve().parent.parent


class Settings:
    """The values of every setting in one environment, parsed on demand, checked by name."""

    def __init__(self, values: Mapping[str, str]) -> None:
        """Keep the values of the declared settings (defaults filled in)."""
        self._values = {name: values.get(name, s.default) for name, s in SETTINGS.items()}

    def __getitem__(self, name: str) -> str:
        return self.str(name)

    def str(self, name: str) -> str:
        """The raw value of setting `name`."""
        if name not in self._values:
            raise KeyError(f"{name} is not a Fagchat setting (fagchat/settings.py)")
        return self._values[name]

    def int(self, name: str) -> int:
        """A whole-number setting; a malformed value stops the process naming it."""
        return self._parsed(name, int, "a whole number")

    def float(self, name: str) -> float:
        """A number setting; a malformed value stops the process naming it."""
        return self._parsed(name, float, "a number")

    def _parsed(self, name: str, kind: Callable[[str], Any], what: str) -> Any:
        value = self.str(name)
        try:
            return kind(value)
        except ValueError:
            raise SystemExit(f"Setting {name} must be {what}, got {value!r}") from None

    def flag(self, name: str) -> bool:
        """An on/off setting: 1 (or true, yes, on) is on, 0 (false, no, off, empty) off."""
        value = self.str(name).strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise SystemExit(f"Setting {name} must be 1 or 0, got {value!r}")

    def list(self, name: str) -> Tuple[str, ...]:
        """A comma-separated setting, blanks dropped."""
        return tuple(item.strip() for item in self.str(name).split(",") if item.strip())

    def path(self, name: str) -> Path:
        """A path setting; a relative one is relative to the repository root."""
        return ROOT / self.str(name)

    @property
    def model_path(self) -> Path:
        """The trained model the Rasa server loads (FAGCHAT_MODEL)."""
        return self.path("FAGCHAT_MODEL")

    def as_env(self) -> Dict[str, str]:
        """Every setting as environment variables (for a child process)."""
        return dict(self._values)


def read(env: Optional[Mapping[str, str]] = None, overrides: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings of `env` (default: this process's environment) with `overrides` on top."""
    values = dict(os.environ if env is None else env)
    for name, value in (overrides or {}).items():
        if name not in SETTINGS:
            raise KeyError(f"{name} is not a Fagchat setting (fagchat/settings.py)")
        values[name] = value
    return Settings(values)


@functools.lru_cache(maxsize=1)
def current() -> Settings:
    """This process's settings, read from its environment once (at first use)."""
    return read()
