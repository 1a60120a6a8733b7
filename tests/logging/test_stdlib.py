"""stdlib records (SQLAlchemy, uvicorn, libraries) through the same pipeline; levels."""

from __future__ import annotations

import copy
import json
import logging
import logging.config
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy
import uvicorn.config

from crm_observability.context import bind_context
from crm_observability.logging import get_logger, parse_level
from crm_observability.settings import SettingsError
from tests.logging.conftest import Capture
from tests.support import free_port as _free_port

CORE = {"timestamp", "level", "logger", "message", "service", "environment"}


def test_sqlalchemy_engine_logs_come_out_as_the_same_json(
    configured: Callable[..., Capture],
) -> None:
    capture = configured(logger_levels={"sqlalchemy.engine": "INFO"})
    engine = sqlalchemy.create_engine("sqlite://")
    try:
        with bind_context(request_id="req-sql"), engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
    finally:
        engine.dispose()
    lines = capture.lines()
    select = [line for line in lines if line["message"] == "SELECT 1"]
    assert select, lines
    line = select[0]
    assert set(line) >= CORE
    assert line["logger"].startswith("sqlalchemy.engine")
    assert line["level"] == "INFO"
    assert line["request_id"] == "req-sql"
    assert line["service"] == "contacts-service"


def test_stdlib_extra_fields_are_kept_without_a_second_timestamp(capture: Capture) -> None:
    # Another handler formatting first sets record.message and record.asctime.
    other = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - closed below
    other.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    root = logging.getLogger()
    root.handlers.insert(0, other)
    try:
        logging.getLogger("billing").warning(
            "charged %s", "c-1", extra={"amount_cents": 1250, "currency": "EUR"}
        )
    finally:
        root.removeHandler(other)
        other.stream.close()
    line = capture.one()
    assert line["message"] == "charged c-1"
    assert line["amount_cents"] == 1250 and line["currency"] == "EUR"
    assert "asctime" not in line and "msg" not in line and "args" not in line
    assert "_record" not in line and "_from_structlog" not in line


def test_uvicorn_loggers_are_taken_over_and_its_access_log_silenced(
    configured: Callable[..., Capture],
) -> None:
    # What `uvicorn app:app` does before importing the app.
    logging.config.dictConfig(copy.deepcopy(uvicorn.config.LOGGING_CONFIG))
    capture = configured()
    error_logger = logging.getLogger("uvicorn.error")
    assert error_logger.handlers == [] and error_logger.propagate
    error_logger.info("Started server process [%d]", 4242,
                      extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"})
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1", "GET",
                                             "/x", "1.1", 200)
    logging.getLogger("gunicorn.error").warning("worker timeout")
    lines = capture.lines()
    assert [line["message"] for line in lines] == ["Started server process [4242]",
                                                   "worker timeout"]
    assert lines[0]["logger"] == "uvicorn.error"
    assert "color_message" not in lines[0]


def test_logger_levels_can_re_enable_uvicorn_access(configured: Callable[..., Capture]) -> None:
    capture = configured(logger_levels={"uvicorn.access": "info"})
    logging.getLogger("uvicorn.access").info("GET /x 200")
    assert capture.one()["logger"] == "uvicorn.access"


def test_per_logger_levels_and_their_undo(configured: Callable[..., Capture]) -> None:
    capture = configured(environment="production",
                         logger_levels={"crm.contacts": "DEBUG", "noisy.lib": "ERROR"})
    get_logger("crm.contacts").debug("contact debug")
    get_logger("crm.contacts.repo").debug("child inherits")
    logging.getLogger("noisy.lib").warning("hidden")
    logging.getLogger("noisy.lib").error("shown")
    get_logger("crm.deals").info("root level hides this")
    assert [line["message"] for line in capture.lines()] == [
        "contact debug", "child inherits", "shown"]
    configured(environment="production")
    assert logging.getLogger("crm.contacts").level == logging.NOTSET
    assert logging.getLogger("noisy.lib").level == logging.NOTSET


@pytest.mark.parametrize(
    ("value", "level"),
    [("debug", 10), (" Info ", 20), ("WARN", 30), ("fatal", 50), ("15", 15), (40, 40)],
)
def test_parse_level_accepts_names_and_numbers(value: str | int, level: int) -> None:
    assert parse_level(value, "log_level") == level


def test_unknown_levels_name_the_field(configured: Callable[..., Capture]) -> None:
    with pytest.raises(SettingsError, match=r"^log_level: 'LOUD' is not a log level"):
        configured(log_level="LOUD")
    with pytest.raises(SettingsError, match=r"^logger_levels\[sqlalchemy\]: 'verbose'"):
        configured(logger_levels={"sqlalchemy": "verbose"})



APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    from crm_observability.logging import configure_logging, get_logger, log_access
    from crm_observability.settings import Settings

    configure_logging(Settings.for_profile("testing", service_name="e2e-service"))
    app = FastAPI()

    @app.get("/contacts/{contact_id}")
    def read(contact_id: int) -> dict[str, int]:
        get_logger("crm.contacts").info("read contact", contact_id=contact_id,
                                        password="hunter2")
        log_access("GET", "/contacts/{contact_id}", 200, 0.001, 16,
                   path=f"/contacts/{contact_id}")
        return {"id": contact_id}
    """
)


def test_real_uvicorn_writes_only_json_lines(tmp_path: Path) -> None:
    (tmp_path / "e2e_app.py").write_text(APP)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "e2e_app:app", "--host", "127.0.0.1",
         "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/contacts/7", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert response.json() == {"id": 7}
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines()]  # every line is JSON
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers
    assert "uvicorn.access" not in loggers
    assert 'HTTP/1.1" 200' not in out + err  # uvicorn's own plain access line
    read = next(line for line in lines if line["message"] == "read contact")
    assert read["contact_id"] == 7 and read["password"] == "[REDACTED]"
    assert read["service"] == "e2e-service"
    access = next(line for line in lines if line["logger"] == "crm_observability.access")
    assert access["route"] == "/contacts/{contact_id}" and access["status"] == 200
    started = next(line for line in lines if line["message"].startswith("Started server"))
    assert started["level"] == "INFO" and "color_message" not in started


def test_uvicorn_run_with_log_config_none_keeps_our_take_over(capture: Capture) -> None:
    # uvicorn.run(app, log_config=None) builds this Config after the app was imported.
    uvicorn.config.Config(app=lambda *a: None, log_config=None)  # type: ignore[arg-type]
    logging.getLogger("uvicorn.error").warning("still ours")
    logging.getLogger("uvicorn.access").info("still silent")
    assert capture.one()["logger"] == "uvicorn.error"
