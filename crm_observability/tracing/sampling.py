"""Head sampling decided by the middleware before the SDK is asked.

For a request with no incoming trace context, the middleware draws the trace id
itself and applies the same rule as ``TraceIdRatioBased`` (the low 64 bits of
the id below ``ratio * 2**64``).  An unsampled request then gets a plain
``NonRecordingSpan`` without a trip through the SDK's sampler; a sampled one is
started by the SDK with that very trace id (through :class:`PresetIdGenerator`),
so the SDK's own ratio sampler reaches the same decision and the effective
rate stays ``ratio``, not ``ratio**2``.
"""

from __future__ import annotations

import contextvars
import random

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

__all__ = ["TRACE_ID_LIMIT", "PresetIdGenerator", "preset_trace_id", "ratio_bound"]

TRACE_ID_LIMIT = (1 << 64) - 1

# Set by the middleware around ``start_span`` for a root span it decided to sample.
preset_trace_id: contextvars.ContextVar[int] = contextvars.ContextVar(
    "crm_preset_trace_id", default=0
)


def ratio_bound(ratio: float) -> int:
    """The bound ``TraceIdRatioBased`` compares the id's low 64 bits against."""
    return round(ratio * (TRACE_ID_LIMIT + 1))


class PresetIdGenerator(RandomIdGenerator):
    """Random ids, except the trace id the middleware has already drawn."""

    def generate_trace_id(self) -> int:
        preset = preset_trace_id.get()
        if preset:
            return preset
        return random.getrandbits(128) or 1
