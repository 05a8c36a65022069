"""FAGCHAT_LOG_FORMAT=json: one JSON object per line, redacted like the text lines."""

import io
import json
import logging
import uuid

import pytest

from fagchat import logs, settings
from fagchat.stores.redaction import RedactingFilter

CPR = "010190-1234"


@pytest.fixture
def json_format(monkeypatch):
    """This process's settings with FAGCHAT_LOG_FORMAT=json; every handler's format restored after."""
    handlers = {h for logger in logs._every_logger() for h in logger.handlers}
    formatters = {h: h.formatter for h in handlers}
    monkeypatch.setenv("FAGCHAT_LOG_FORMAT", "json")
    settings.current.cache_clear()
    yield
    monkeypatch.undo()
    settings.current.cache_clear()
    for handler, formatter in formatters.items():
        handler.setFormatter(formatter)


@pytest.fixture
def probe():
    """A logger with a handler of its own writing into a buffer; removed afterwards."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger(f"fagchat.probe.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_the_agreed_fields(json_format, probe):
    logger, handler, stream = probe
    logs.install_redaction("web")
    logger.warning("chat.holding conversation=%s\nsecond line", "c0ffee")
    (line,) = lines(stream)
    assert set(line) == {"time", "level", "logger", "process", "pid", "message"}
    assert line["level"] == "WARNING" and line["logger"] == logger.name and line["process"] == "web"
    assert line["message"] == "chat.holding conversation=c0ffee\nsecond line"
    assert line["time"].endswith("+00:00") and "T" in line["time"]


def test_a_cpr_number_comes_out_redacted_in_json_too(json_format, probe):
    logger, handler, stream = probe
    logs.install_redaction("rasa")
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    logger.info("besked: mit cpr er %s", CPR)
    try:
        raise ValueError(f"kunne ikke læse {CPR}")
    except ValueError:
        logger.exception("failed for 0101901234")
    first, second = lines(stream)
    assert CPR not in stream.getvalue() and "0101901234" not in stream.getvalue()
    assert "[CPR]" in first["message"] and "[CPR]" in second["message"]
    assert "Traceback" in second["exception"] and "[CPR]" in second["exception"]


def test_text_stays_the_default(probe):
    logger, handler, stream = probe
    logs.install_redaction()
    logger.info("besked %s", CPR)
    assert stream.getvalue().strip() == "besked [CPR]"  # the handler's own (plain) format, redacted


def test_an_unknown_format_stops_the_process_naming_the_setting(monkeypatch):
    monkeypatch.setenv("FAGCHAT_LOG_FORMAT", "xml")
    settings.current.cache_clear()
    try:
        with pytest.raises(SystemExit, match="FAGCHAT_LOG_FORMAT"):
            logs.log_format()
    finally:
        monkeypatch.undo()
        settings.current.cache_clear()
