"""YAML reading for every process, with the safe tag set.

libyaml's C parser when PyYAML was built with it (Debian's and the wheels' are), the pure
Python one otherwise. The C parser reads the knowledge base in about a fifth of the time,
which every process pays at start and every test that builds an app pays again.
"""

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """Like `yaml.safe_load`; raises `yaml.YAMLError` on malformed text."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
