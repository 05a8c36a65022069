"""Configuration is read in one place and documented."""

import re
from pathlib import Path

import pytest

from fagchat.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_every_setting_with_its_default():
    readme = (ROOT / "README.md").read_text()
    for setting in SETTINGS.values():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{setting.name}`")), None)
        assert row, f"README.md has no table row for {setting.name}"
        assert f"`{setting.default}`" in row, f"README.md row for {setting.name} lacks its default"


def test_no_module_reads_the_environment_except_settings():
    allowed = {"fagchat/settings.py", "fagchat/run/launcher.py"}
    pattern = re.compile(r"os\.environ(?:\.get)?[\[(]|os\.getenv\(")
    offenders = []
    for path in [*ROOT.glob("fagchat/**/*.py"), *ROOT.glob("actions/*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        if rel not in allowed and pattern.search(path.read_text()):
            offenders.append(rel)
    assert not offenders, f"read settings through fagchat.settings: {offenders}"


@pytest.mark.parametrize(
    "table, complaint",
    [
        (
            'FAGCHAT_A:\n  default: "1"\n  help: one\nFAGCHAT_A:\n  default: "2"\n  help: two\n',
            "declared twice: FAGCHAT_A",
        ),
        ('OTHER_A:\n  default: "1"\n  help: one\n', "not a FAGCHAT_ name"),
        ("FAGCHAT_A:\n  default: 1\n  help: one\n", "quoted default"),
        ('FAGCHAT_A:\n  default: "1"\n', "exactly 'default' and 'help'"),
        ("- FAGCHAT_A\n", "mapping of settings"),
    ],
)
def test_a_mistake_in_the_settings_table_stops_the_start_and_names_the_entry(tmp_path, table, complaint):
    from fagchat.settings_declared import load

    path = tmp_path / "settings.yml"
    path.write_text(table, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(complaint)):
        load(path)
