"""RediffMail Pro tap: configuration and stream list."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailtaps_common.setting_values import numbers_from_text
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError

from tap_rediffmail import streams

DEFAULT_API_URL = "https://cl-logs.rediffmailpro.com/logs/get"


class TapRediffMail(Tap):
    """Reads RediffMail Pro's outbound delivery and activity reports."""

    name = "tap-rediffmail"
    message_writer_class = MsgSpecWriter  # a third faster than the default writer

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
        th.Property("api_url", th.StringType, title="Log API URL", default=DEFAULT_API_URL,
                    description="Full URL of the log endpoint."),
        th.Property("start_date", th.DateTimeType, title="Start date", required=True,
                    description="First instant to read; UTC unless it carries an offset."),
        th.Property("end_date", th.DateTimeType, title="End date",
                    description="Optional instant to stop at (exclusive), for backfills. "
                    "Never later than now minus lag_minutes."),
        th.Property("window_minutes", th.IntegerType, title="Window length (minutes)", default=60,
                    description="Largest time window per call; windows align to this grid."),
        th.Property("max_rows_per_window", th.IntegerType, title="Rows per window", default=20000,
                    description="Busy windows above this many rows make the next windows "
                    "smaller (halving), sparse ones larger again: bounds memory."),
        th.Property("lag_minutes", th.IntegerType, title="Lag (minutes)", default=15,
                    description="Only windows that ended at least this long ago are read."),
        th.Property("timezone", th.StringType, title="API time zone", default="Asia/Kolkata",
                    description="IANA zone of the API's naive date_time values."),
        th.Property("min_seconds_between_calls", th.NumberType, default=60,
                    title="Seconds between calls",
                    description="Pacing: the API allows about one call per minute."),
        th.Property("row_cap", th.IntegerType, title="Row cap",
                    description="If the API silently truncates a report at this many rows, "
                    "set it: a window reaching it is split and read again."),
        th.Property("max_retries", th.IntegerType, title="Retries", default=5,
                    description="Attempts per call for 429, 5xx, timeouts and broken bodies."),
        th.Property("retry_base_seconds", th.NumberType, default=5,
                    title="First retry wait (seconds)",
                    description="First wait before a retry (doubles each time) when the "
                    "server gives no Retry-After."),
        th.Property("request_timeout", th.IntegerType, default=300,
                    title="Request timeout (seconds)",
                    description="Seconds to wait for one answer."),
        th.Property("verify_tls", th.BooleanType, title="Verify TLS", default=True,
                    description="Verify the server's TLS certificate. Leave on."),
    ).to_dict()  # fmt: skip

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        numbers_from_text(self._config, self.config_jsonschema)
        return super()._validate_config(raise_errors=raise_errors)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("validate_config", True):
            self._check_config()

    def _check_config(self) -> None:
        """Rules the JSON schema cannot say, each with a message that names the setting."""
        errors = []
        has_plain = bool(self.config.get("password"))
        has_b64 = bool(self.config.get("password_base64"))
        if has_plain == has_b64:
            errors.append("set exactly one of 'password' (plain) or 'password_base64'")
        if has_b64:
            try:
                base64.b64decode(self.config["password_base64"], validate=True)
            except (binascii.Error, ValueError):
                errors.append("'password_base64' is not valid standard base64")
        try:
            ZoneInfo(self.config["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(f"'timezone' {self.config.get('timezone')!r} is not an IANA zone name")
        for key in ("window_minutes", "max_rows_per_window", "max_retries", "request_timeout"):
            if key in self.config and self.config[key] < 1:
                errors.append(f"'{key}' must be at least 1")
        if self.config.get("row_cap") is not None and self.config["row_cap"] < 2:
            errors.append("'row_cap' must be at least 2")
        start, end = self.config.get("start_date"), self.config.get("end_date")
        if start and end and datetime.fromisoformat(end) <= datetime.fromisoformat(start):
            errors.append("'end_date' must be after 'start_date'")
        if errors:
            raise ConfigValidationError("Invalid configuration", errors=errors)
        if not self.config["verify_tls"]:
            self.logger.warning(
                "verify_tls is off: the server's certificate is not checked, so the "
                "admin password could be sent to an impostor"
            )

    def discover_streams(self) -> list[streams.Stream]:
        return [
            streams.ReportWindowsStream(self),
            streams.OutboundMailDeliveryReportStream(self),
            streams.ActivityReportStream(self),
        ]


if __name__ == "__main__":
    TapRediffMail.cli()
