"""RediffMail Pro tap: configuration and stream list."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailtaps_common.cli import OneLineFailures
from mailtaps_common.config import CheckedConfig, invalid
from mailtaps_common.heap import FewerCollections
from mailtaps_common.output import BufferedOutput
from mailtaps_common.secrets import RedactedLogs
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_rediffmail import probe, streams
from tap_rediffmail.client import parse_utc

DEFAULT_API_URL = "https://cl-logs.rediffmailpro.com/logs/get"


class TapRediffMail(
    OneLineFailures, RedactedLogs, CheckedConfig, BufferedOutput, FewerCollections, Tap
):
    """Reads RediffMail Pro's outbound delivery and activity reports."""

    name = "tap-rediffmail"

    config_jsonschema = th.PropertiesList(
        th.Property("domain", th.StringType, required=True, title="Rediff domain",
                    description="The Rediff domain whose logs are read, e.g. example.co.in."),
        th.Property("user_email", th.StringType, required=True, title="Admin mailbox",
                    description="An admin mailbox of that domain."),
        th.Property("password", th.StringType, title="Admin password", secret=True,
                    description="The admin password, plain; the tap base64-encodes it. "
                    "Give this or password_base64, not both."),
        th.Property("password_base64", th.StringType, title="Admin password (base64)", secret=True,
                    description="The admin password already in standard (padded) base64, "
                    "as Rediff's own connector asks for it."),
        th.Property("api_url", th.URIType, title="Log API URL", default=DEFAULT_API_URL,
                    description="Full URL of the log endpoint."),
        th.Property("start_date", th.DateTimeType, title="Start date", required=True,
                    description="First instant to read; UTC unless it carries an offset."),
        th.Property("end_date", th.DateTimeType, title="End date",
                    description="Optional instant to stop at (exclusive), for backfills. "
                    "Never later than now minus lag_minutes."),
        th.Property("window_minutes", th.IntegerType(minimum=1, maximum=1440), default=60,
                    title="Window length (minutes)",
                    description="Largest time window per call, at most a day (1440); "
                    "windows align to this grid."),
        th.Property("max_rows_per_window", th.IntegerType(minimum=1), default=20000,
                    title="Rows per window",
                    description="Busy windows above this many rows make the next windows "
                    "smaller (halving), sparse ones larger again: bounds memory."),
        th.Property("lag_minutes", th.IntegerType(minimum=0, maximum=10080), default=15,
                    title="Lag (minutes)",
                    description="Only windows that ended at least this long ago are read."),
        th.Property("timezone", th.StringType, title="API time zone", default="Asia/Kolkata",
                    description="IANA zone of the API's naive date_time values."),
        th.Property("min_seconds_between_calls", th.NumberType(minimum=0, maximum=3600), default=60,
                    title="Seconds between calls",
                    description="Pacing: the API allows about one call per minute."),
        th.Property("row_cap", th.IntegerType(minimum=2), title="Row cap",
                    description="If the API silently truncates a report at this many rows, "
                    "set it: a window reaching it is split and read again."),
        th.Property("max_retries", th.IntegerType(minimum=0, maximum=20), default=5,
                    title="Retries",
                    description="Retries of a call after the first attempt, for 429, 5xx, "
                    "timeouts and broken bodies (0: one attempt)."),
        th.Property("retry_base_seconds", th.NumberType(minimum=0, maximum=600), default=5,
                    title="First retry wait (seconds)",
                    description="First wait before a retry (doubles each time) when the "
                    "server gives no Retry-After."),
        th.Property("retry_max_seconds", th.NumberType(minimum=0, maximum=3600), default=300,
                    title="Longest retry wait (seconds)",
                    description="Longest wait before a retry, Retry-After included."),
        th.Property("request_timeout", th.IntegerType(minimum=1, maximum=3600), default=300,
                    title="Request timeout (seconds)",
                    description="Seconds to wait for one answer."),
        th.Property("verify_tls", th.BooleanType, title="Verify TLS", default=True,
                    description="Check the server's TLS certificate, against the CA bundle "
                    "named in REQUESTS_CA_BUNDLE if set (turning it off logs a warning)"),
    ).to_dict()  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("validate_config", True):
            self._check_config()

    def _check_config(self) -> None:
        """Rules the JSON schema cannot say, one line each in the format of the schema's."""
        errors = []
        has_plain = bool(self.config.get("password"))
        has_b64 = bool(self.config.get("password_base64"))
        if not has_plain and not has_b64:
            errors.append(
                f"{self.name}: missing required setting 'password' (or 'password_base64')"
            )
        if has_plain and has_b64:
            errors.append(
                invalid(self.name, "password_base64", None, "give it or 'password', not both",
                        secret=True)
            )  # fmt: skip
        if has_b64:
            try:
                base64.b64decode(self.config["password_base64"], validate=True)
            except (binascii.Error, ValueError):
                errors.append(
                    invalid(self.name, "password_base64", None, "must be standard base64",
                            secret=True)
                )  # fmt: skip
        try:
            ZoneInfo(self.config["timezone"])
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory, a long name
            errors.append(
                invalid(self.name, "timezone", self.config.get("timezone"),
                        "must be an IANA zone name, e.g. Asia/Kolkata")
            )  # fmt: skip
        start, end = self.config.get("start_date"), self.config.get("end_date")
        if start and end and parse_utc(end) <= parse_utc(start):
            errors.append(
                invalid(self.name, "end_date", end, f"must be after start_date {start!r}")
            )
        if errors:
            raise ConfigValidationError("\n".join(errors), errors=errors)
        if not self.config["verify_tls"]:
            self.logger.warning(
                "verify_tls is off: the server's certificate is not checked, so the "
                "admin password could be sent to an impostor"
            )

    @override  # type: ignore[misc]  # final in the SDK, whose dry run has no time budget
    def run_connection_test(self) -> bool:
        """``--test``: one call on a short budget; a report, or one line naming the cause."""
        return probe.run(self)

    @override
    def discover_streams(self) -> list[Stream]:
        return [
            streams.ReportWindowsStream(self),
            streams.OutboundMailDeliveryReportStream(self),
            streams.ActivityReportStream(self),
        ]


if __name__ == "__main__":
    TapRediffMail.cli()
