"""Print the README's settings table from fagchat/settings.py (paste it into README.md)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fagchat.settings import SETTINGS  # noqa: E402

print("| setting | default | what it does |")
print("| --- | --- | --- |")
for s in SETTINGS.values():
    print(f"| `{s.name}` | `{s.default}` | {s.help} |")
