"""Secrets never reach a log line; e-mails are masked; clean text is untouched."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import string
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crm_observability.context import bind_context
from crm_observability.logging import REDACTED, Redactor, get_logger, redact_text
from crm_observability.logging import redaction as redaction_module
from tests.logging.conftest import Capture

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2", "password=[REDACTED]"),
        ("login passwd=abc ok", "login passwd=[REDACTED] ok"),
        ('{"password": "hunter 2", "n": 1}', '{"password": "[REDACTED]", "n": 1}'),
        (r'{"token": "a\"b", "n": 1}', '{"token": "[REDACTED]", "n": 1}'),
        ("db_password: 's e c' x", "db_password: '[REDACTED]' x"),
        ("GET https://api/x?access_token=abc&page=2", "GET https://api/x?access_token=[REDACTED]&page=2"),
        ("refresh_token=r1,client_secret=s1", "refresh_token=[REDACTED],client_secret=[REDACTED]"),
        ("X-Api-Key: k-123 next", "X-Api-Key: [REDACTED] next"),
        ("apikey=k1", "apikey=[REDACTED]"),
        ("Authorization: Bearer abc.def", "Authorization: [REDACTED]"),
        ("authorization=Basic dXNlcjpwYXNz tail", "authorization=[REDACTED] tail"),
        ("Cookie: sessionid=abc; theme=dark\nnext", "Cookie: [REDACTED]\nnext"),
        ('{"Set-Cookie": "id=1; HttpOnly"}', '{"Set-Cookie": "[REDACTED]"}'),
        ("sent bearer   AbC123== to upstream", "sent bearer [REDACTED] to upstream"),
        (f"token in path /t/{JWT}/x", "token in path /t/[REDACTED]/x"),
        ("Creating contact with email: john.doe@example.com",
         "Creating contact with email: j***@example.com"),
        ("GET /api/v1/contacts?q=secret.person%40example.org 200",
         "GET /api/v1/contacts?q=s***%40example.org 200"),
        ("to a@b.co and Zed+tag@mail.example.org", "to a***@b.co and Z***@mail.example.org"),
        ("password=[REDACTED] twice", "password=[REDACTED] twice"),
    ],
)
def test_redact_text_replaces_secrets(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Contact 42 created for tenant t-17 in 12 ms",
        "tokens_used=5 cache_key=abc monkey: 3",
        "https://crm.example/contacts?page=2",
        "ok",
        "passwords: 3 reset",
        "user@localhost has no domain dot",
    ],
)
def test_clean_text_is_returned_unchanged(text: str) -> None:
    assert redact_text(text) == text


_SECRET = st.text(alphabet=string.ascii_letters + string.digits, min_size=6, max_size=30)
_NOISE = st.text(alphabet=string.ascii_letters + " .,!?-/", max_size=40)


@settings(max_examples=200, deadline=None)
@given(prefix=_NOISE, suffix=_NOISE, secret=_SECRET,
       key=st.sampled_from(["password", "api_key", "Authorization", "x-auth-token", "secret"]),
       layout=st.sampled_from(["{k}={v}", '"{k}": "{v}"', "{k}: {v}", "'{k}'='{v}'"]))
def test_secret_values_never_survive(prefix: str, suffix: str, secret: str, key: str,
                                     layout: str) -> None:
    noise = (prefix + suffix).lower()
    assume("bearer" not in noise and "eyj" not in noise)  # redactable on their own
    # An auth scheme word as the value takes the next word with it (over-redaction).
    assume(secret.lower() not in {"bearer", "basic", "digest", "token", "negotiate"})
    out = redact_text(f"{prefix} {layout.format(k=key, v=secret)} {suffix}")
    assert out == f"{prefix} {layout.format(k=key, v=REDACTED)} {suffix}"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_redact_text_never_raises_and_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


def test_secret_keys_are_matched_by_ending() -> None:
    redactor = Redactor()
    for key in ("password", "DB_PASSWORD", "x-api-key", "apiKey", "access_token", "csrftoken",
                "Set-Cookie", "client_secret", "private_key", "sessionid", "credentials"):
        assert redactor.is_secret_key(key), key
    for key in ("tokens_used", "cache_key", "email", "user_id", "password_changed_at"):
        assert not redactor.is_secret_key(key), key
    assert Redactor(extra_keys=["ssn"]).is_secret_key("customer_ssn")


def test_structured_fields_nested_and_odd_types() -> None:
    @dataclasses.dataclass
    class Credentials:
        username: str
        password: str

    class Shouty:
        def __str__(self) -> str:
            return "contact bob@example.com token=abc"

    event = {
        "headers": {"Authorization": "Bearer x", "Accept": "json", "nested": {"api_key": 1}},
        "items": [{"secret": "s"}, "mail carol@example.com", (1, 2)],
        "creds": Credentials("dave", "pw"),
        "obj": Shouty(),
        "when": datetime.date(2024, 1, 1),
        "count": 3,
        "email": "erin@example.com",
        "level": "kept as is: x@example.com",
    }
    headers = event["headers"]
    out = Redactor(skip=["level"])(None, "info", event)
    assert out["headers"] == {"Authorization": REDACTED, "Accept": "json",
                              "nested": {"api_key": REDACTED}}
    assert out["items"] == [{"secret": REDACTED}, "mail c***@example.com", [1, 2]]
    assert out["creds"] == {"username": "dave", "password": REDACTED}
    assert out["obj"] == "contact b***@example.com token=[REDACTED]"
    assert out["when"] == datetime.date(2024, 1, 1) and out["count"] == 3
    assert out["email"] == "e***@example.com"
    assert out["level"] == "kept as is: x@example.com"
    assert headers == {"Authorization": "Bearer x", "Accept": "json",  # caller's dict untouched
                       "nested": {"api_key": 1}}


def test_deep_structures_are_cut_to_text() -> None:
    deep: dict[str, object] = {"password": "p"}
    for _ in range(12):
        deep = {"d": deep}
    out = Redactor().value(deep)
    for _ in range(8):
        out = out["d"]
    assert isinstance(out, str)  # past the depth limit: text, still redacted
    assert "'password': '[REDACTED]'" in out and "'p'" not in out


def test_key_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction_module, "_MEMO_LIMIT", 3)
    monkeypatch.setattr(redaction_module, "_key_memo", {})
    redactor = Redactor()
    event = {f"k{i}": "v" for i in range(10)} | {"my_token": "t"}
    assert redactor(None, "info", event)["my_token"] == REDACTED
    assert len(redactor._memo) <= 3
    for i in range(10):
        redact_text(f"key{i}_password=x")
    assert len(redaction_module._key_memo) <= 3


def test_emitted_lines_are_redacted_everywhere(capture: Capture) -> None:
    log = get_logger("auth")
    with bind_context(user_id="frank@example.com", session_token="st-1"):
        log.info("login with password=hunter2 for frank@example.com",
                 headers={"authorization": f"Bearer {JWT}"}, jwt=JWT)
        logging.getLogger("lib").warning("api_key=%s", "k-9", extra={"refresh_token": "rt"})
        try:
            raise RuntimeError("connect failed: password=db-secret")
        except RuntimeError:
            log.exception("db down")
    text = capture.text()
    for secret in ("hunter2", JWT, "frank@", "st-1", "k-9", '"rt"', "db-secret"):
        assert secret not in text, secret
    login, lib, down = capture.lines()
    assert login["user_id"] == "f***@example.com"
    assert login["headers"]["authorization"] == REDACTED
    assert login["jwt"] == REDACTED
    assert lib["message"] == "api_key=[REDACTED]" and lib["refresh_token"] == REDACTED
    assert "password=[REDACTED]" in down["exception"]


def test_redaction_can_be_switched_off(configured: Callable[..., Capture]) -> None:
    capture = configured(redact=False)
    get_logger("raw").info("password=hunter2", email="gina@example.com")
    line = capture.one()
    assert line["message"] == "password=hunter2" and line["email"] == "gina@example.com"


def test_clean_strings_are_remembered_secrets_never_and_the_memory_is_bounded() -> None:
    from crm_observability.logging import redaction

    redactor = redaction.Redactor()
    for _ in range(3):
        event = redactor(None, "info", {"event": "GET /contacts/{id} 200",
                                        "note": "password=hunter2 and jane@example.com"})
        assert event == {"event": "GET /contacts/{id} 200",
                         "note": "password=[REDACTED] and j***@example.com"}
    remembered = redactor._clean
    assert "GET /contacts/{id} 200" in remembered
    assert not any("hunter2" in text or "@" in text for text in remembered)
    for i in range(redaction._MEMO_LIMIT + 10):
        redactor(None, "info", {"event": f"line {i}"})
    assert len(remembered) <= redaction._MEMO_LIMIT
