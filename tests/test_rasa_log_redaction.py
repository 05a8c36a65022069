"""The Rasa process redacts its log lines too (issue 12).

Rasa sets up its own logging (coloredlogs on the root logger, structlog, Sanic's loggers
with their own handlers), and at DEBUG it logs every user message. The chat channel's
start hook installs the redacting filter on every handler there is; these tests check
that with Rasa's own logging set-up and in a real Rasa process.
"""

import logging
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sanic import Sanic

from fagchat.channel import FagchatInput
from fagchat.logs import install_redaction
from fagchat.stores.redaction import RedactingFilter
from tests.helpers import TENSORFLOW_GROUP
from tests.served import served

# TensorFlow: the channel's start installs the Rasa patches, which import RemoteAction
# (tests/helpers.py: TENSORFLOW_GROUP).
pytestmark = pytest.mark.xdist_group(TENSORFLOW_GROUP)

ROOT = Path(__file__).resolve().parent.parent
CPR, PHONE = "010190-1234", "22 33 44 55"

# What `rasa run` does to logging before it serves (rasa/__main__.py, rasa/core/run.py),
# then the function the channel's start hook calls, then log lines with personal data.
RASA_LIKE_PROCESS = """
import logging, sys
import structlog
import rasa.utils.common as common, rasa.utils.io as rasa_io
from rasa.utils.log_utils import configure_structlog
common.configure_logging_and_warnings(logging.DEBUG, None, True, True)
rasa_io.configure_colored_logging("DEBUG")
configure_structlog(logging.DEBUG)
common.update_sanic_log_level(log_file=sys.argv[1])
from fagchat.logs import install_redaction
install_redaction()
logging.getLogger("rasa.core.processor").debug("Received user message 'cpr %s' with intent", sys.argv[2])
structlog.get_logger().debug("processor.message.parse", parse_data_text="ring " + sys.argv[3])
logging.getLogger("sanic.error").error("Invalid request from %s", sys.argv[3])
"""


def test_rasa_s_own_loggers_are_redacted_after_the_install(tmp_path):
    log_file = tmp_path / "sanic.log"
    result = subprocess.run(
        [sys.executable, "-c", RASA_LIKE_PROCESS, str(log_file), CPR, PHONE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    written = result.stdout + result.stderr + log_file.read_text()
    assert "Received user message" in written and "processor.message.parse" in written
    assert "Invalid request from" in written
    assert CPR not in written and PHONE not in written
    assert written.count("[CPR]") >= 1 and written.count("[TELEFON]") >= 2


def test_install_reaches_handlers_of_every_logger():
    handler = logging.StreamHandler()
    logger = logging.getLogger(f"probe.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    try:
        install_redaction()
        install_redaction()  # a second call adds nothing
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)


def test_the_channel_start_hook_installs_the_filter():
    from fagchat import rasa_patches

    handler = logging.StreamHandler()
    logger = logging.getLogger(f"sanic.probe.{uuid.uuid4().hex}")  # like Sanic's: its own handler
    logger.addHandler(handler)
    app = Sanic(f"hook_{uuid.uuid4().hex[:8]}", register=False, configure_logging=False)

    async def on_new_message(_message) -> None:
        return None

    app.blueprint(FagchatInput().blueprint(on_new_message), url_prefix="/webhooks/fagchat")
    try:
        answer = served(app).request("GET", "/webhooks/fagchat/")
        assert answer.status == 200
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    finally:
        logger.removeHandler(handler)
        rasa_patches.uninstall()


@pytest.mark.integration
def test_a_real_rasa_process_at_debug_level_logs_no_personal_data(tmp_path):
    """Rasa at DEBUG logs each user message; its log must hold only the redacted text."""
    from fagchat.run.launcher import Stack, model_path
    from tests.conftest import stack_env
    from tests.helpers import say

    if not model_path().exists():
        pytest.fail("No trained model: run `make train` first (make test does).")
    env = {**stack_env(tmp_path), "LOG_LEVEL": "DEBUG", "FAGCHAT_RASA_WORKERS": "1", "FAGCHAT_LOCK_STORE": "memory"}
    stack = Stack(env, services=("rasa",), log_dir=tmp_path / "log")
    try:
        stack.start()
        say(stack.url("rasa"), uuid.uuid4().hex, f"borgerens cpr er {CPR} og hun har nummer {PHONE}")
    finally:
        stack.stop()
    log = stack.log_tail("rasa", lines=100_000)
    assert "Received user message" in log or "processor.message.parse" in log, "Rasa did not log at DEBUG"
    assert CPR not in log and PHONE not in log
    assert "[CPR]" in log and "[TELEFON]" in log
