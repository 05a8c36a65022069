"""House rules of the staff app: settings documented, SQL in one module, small modules."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fagchat import settings
from fagchat.staff import charts

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fagchat" / "staff"
DOCS = (ROOT / "docs" / "staff.md").read_text(encoding="utf-8")
SQL = re.compile(
    r"\b(sa|sqlalchemy)\.(select|insert|delete|update|text|func)\b|\.execute\(|exec_driver_sql"
    r"|\b(events|conversations|messages|marks|reviews|users|sessions|audit|state)\.(select|insert|delete|update)\("
)


@pytest.mark.parametrize(
    "name",
    sorted(n for n in settings.SETTINGS if n.startswith(("FAGCHAT_STAFF_", "FAGCHAT_TRAIN_", "FAGCHAT_MODEL_")))
    + ["FAGCHAT_DB_URL", "FAGCHAT_RETENTION_DAYS", "FAGCHAT_HOST"],
)
def test_docs_list_every_setting_the_staff_app_reads(name):
    assert f"`{name}`" in DOCS
    assert settings.SETTINGS[name].default in DOCS


def test_docs_give_the_measured_performance():
    assert re.search(r"100[.,]000 conversations", DOCS) and "staff-perf" in DOCS


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_is_small_and_keeps_the_house_rules(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 300
    assert "os.environ" not in text and "getenv" not in text  # settings are read in fagchat.settings
    if not path.name.startswith("db") and path.name != "engine.py":
        assert not SQL.search(text), "SQL belongs in db.py or db_accounts.py"
    assert "%" not in "".join(re.findall(r"execute\((.*)\)", text))  # never string-formatted SQL


def test_templates_never_switch_escaping_off():
    for template in (PACKAGE / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text and "autoescape false" not in text and "style=" not in text, template.name
        # One script in the whole app, our own file: the training page's progress (its CSP
        # allows script-src 'self' on that page only; training_page.py).
        allowed = ['<script src="/static/training.js" defer>'] if template.name == "training.html" else []
        assert re.findall(r"<script[^>]*>", text) == allowed, template.name


def test_chart_text_is_escaped():
    svg = charts.bar_chart("x", "<b>t</b>", "<i>d</i>", [("<script>", [3])], [("a&b", "s1")])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;t&lt;/b&gt;" in svg


@pytest.mark.integration
def test_benchmark_runs_on_a_small_database():
    done = subprocess.run(
        [sys.executable, "benchmarks/staff_perf.py", "--conversations", "300", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "list/filter/open all under 1 s" in done.stdout
