"""The SDK's OTLP/HTTP span exporter, encoding with :mod:`.encoding` instead of stock.

Everything but the encoding stays the SDK's: endpoint and header environment
variables, TLS, compression, retries with backoff, timeouts, shutdown, the
request size limit and the exporter's own metrics.  ``export`` repeats the
stock flow (encode, check size, send) and needs a few private attributes of
the SDK exporter; if a different SDK version lacks them it calls the stock
``export`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from crm_observability.tracing.encoding import encode_spans

__all__ = ["FastOTLPSpanExporter"]

# Same logger name as the stock exporter: its messages are captured and rate-limited
# by tracing.exporters (ExportLogCapture) without further wiring.
_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")

try:
    from opentelemetry.exporter.otlp.proto.http._common import (
        RequestPayloadTooLargeError,
        _is_request_too_large,
    )
    from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE
except ImportError:  # another SDK version: the stock export path is used
    _SDK_HELPERS = False
else:
    _SDK_HELPERS = True

_NEEDED = ("_shutdown", "_metrics", "_client", "_max_request_size")


class FastOTLPSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter`` whose ``export`` encodes spans about 3x cheaper."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = _SDK_HELPERS and all(hasattr(self, name) for name in _NEEDED)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self._fast:
            return super().export(spans)
        if self._shutdown:
            _logger.warning("Exporter already shutdown, ignoring batch")
            return SpanExportResult.FAILURE
        with self._metrics.export_operation(len(spans)) as result:
            try:
                data = encode_spans(spans)
            except Exception as error:  # stock contains encoding errors the same way
                _logger.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE
            limit = self._max_request_size
            if _is_request_too_large(data, limit):
                _logger.warning(
                    "Dropping span batch: serialized size %d bytes exceeds "
                    "max_request_size %d bytes.",
                    len(data),
                    limit,
                )
                result.error = RequestPayloadTooLargeError(
                    f"Serialized span request size {len(data)} bytes exceeds "
                    f"max_request_size {limit} bytes."
                )
                return SpanExportResult.FAILURE
            sent = self._client.export(data)
            if not sent.success:
                result.error = sent.error
                result.error_attrs = (
                    {HTTP_RESPONSE_STATUS_CODE: sent.status_code}
                    if sent.status_code is not None
                    else None
                )
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
