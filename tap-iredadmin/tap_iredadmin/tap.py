"""tap-iredadmin: domains, users, aliases, mailing lists and policies from iRedAdmin-Pro."""

from __future__ import annotations

from functools import cached_property

from mailtaps_common.setting_values import numbers_from_text
from singer_sdk import Tap
from singer_sdk import typing as th

from .client import IRedAdminClient
from .streams import STREAM_TYPES, IRedAdminStream


class TapIRedAdmin(Tap):
    """Reads the iRedAdmin-Pro directory: domains, mailboxes, aliases, mailing lists, policies."""

    name = "tap-iredadmin"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.URIType,
            title="iRedAdmin-Pro URL",
            required=True,
            description="iRedAdmin-Pro's address, e.g. https://mail.example.com/iredadmin",
        ),
        th.Property(
            "username",
            th.StringType,
            title="Admin username",
            required=True,
            description="Admin's full email address",
        ),
        th.Property(
            "password",
            th.StringType,
            title="Admin password",
            required=True,
            secret=True,
            description="That admin's password",
        ),
        th.Property(
            "user_details",
            th.BooleanType,
            title="Read mailbox details",
            default=False,
            description="Read /api/user/<mail> for every mailbox (forwardings, aliases, ...)",
        ),
        th.Property(
            "user_policies",
            th.BooleanType,
            title="Read mailbox policies",
            default=False,
            description="Read spam, throttle and greylisting settings of every mailbox",
        ),
        th.Property(
            "max_workers",
            th.IntegerType(minimum=1),
            title="Concurrent calls",
            default=8,
            description="Concurrent per-item API calls (1 = one call at a time)",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            title="Request timeout (seconds)",
            default=60,
            description="Seconds to wait for one API answer",
        ),
        th.Property(
            "verify_tls",
            th.BooleanType,
            title="Verify TLS",
            default=True,
            description="Check the server's TLS certificate (turning it off logs a warning)",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            title="Retries",
            default=5,
            description="Retries of a call after 5xx, 429, timeouts and broken answers",
        ),
        th.Property(
            "retry_base_seconds",
            th.NumberType,
            title="First retry wait (seconds)",
            default=1.0,
            description="First wait before a retry; doubles on each further retry",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            title="Mark deleted rows (ACTIVATE_VERSION)",
            default=True,
            description="Let targets retire rows that vanished upstream (ACTIVATE_VERSION)",
        ),
    ).to_dict()

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        numbers_from_text(self._config, self.config_jsonschema)
        return super()._validate_config(raise_errors=raise_errors)

    @cached_property
    def api(self) -> IRedAdminClient:
        """The run's one logged-in session, shared by all streams."""
        return IRedAdminClient.from_config(dict(self.config), self.logger)

    def discover_streams(self) -> list[IRedAdminStream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]


if __name__ == "__main__":
    TapIRedAdmin.cli()
