from __future__ import annotations

from crm_observability.oneline import one_line


def test_plain_text_is_returned_as_is() -> None:
    text = "contacts.slo.yml: slos[0].objective: must be below 100"
    assert one_line(text) is text


def test_control_characters_are_escaped() -> None:
    assert one_line("a\nb\rc\td\x1b[31m\x7f\u2028") == "a\\nb\\rc\\td\\x1b[31m\\x7f\\u2028"
    assert "\n" not in one_line("key\nwith\nbreaks")
