"""The one validation error of the SLO package: it names the file, the field and the reason."""

from __future__ import annotations

from crm_observability.oneline import one_line


class SpecError(ValueError):
    """An unusable SLO spec; ``str()`` is one line ``FILE: FIELD: reason``."""

    def __init__(self, file: str, field: str, reason: str) -> None:
        self.file = file
        self.field = field
        self.reason = reason
        # Field paths and reasons echo the spec's own keys: keep the message on one line.
        field, reason = one_line(field), one_line(reason)
        super().__init__(f"{file}: {field}: {reason}" if field else f"{file}: {reason}")
