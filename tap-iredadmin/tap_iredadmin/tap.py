"""tap-iredadmin: domains, users, aliases, mailing lists and policies from iRedAdmin-Pro."""

from __future__ import annotations

from functools import cached_property

from mailtaps_common.cli import OneLineFailures
from mailtaps_common.config import CheckedConfig
from mailtaps_common.heap import FewerCollections
from mailtaps_common.output import BufferedOutput
from mailtaps_common.secrets import RedactedLogs
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from typing_extensions import override

from . import probe
from .client import IRedAdminClient
from .streams import STREAM_TYPES, IRedAdminStream
from .variants import BACKENDS, ERAS


class TapIRedAdmin(
    OneLineFailures, RedactedLogs, CheckedConfig, BufferedOutput, FewerCollections, Tap
):
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
            th.IntegerType(minimum=1, maximum=64),
            title="Concurrent calls",
            default=8,
            description="Concurrent per-item API calls (1 = one call at a time)",
        ),
        th.Property(
            "request_timeout",
            th.NumberType(minimum=1, maximum=3600),
            title="Request timeout (seconds)",
            default=60,
            description="Seconds to wait for one API answer",
        ),
        th.Property(
            "verify_tls",
            th.BooleanType,
            title="Verify TLS",
            default=True,
            description=(
                "Check the server's TLS certificate, against the CA bundle named in "
                "REQUESTS_CA_BUNDLE if set (turning it off logs a warning)"
            ),
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0, maximum=20),
            title="Retries",
            default=5,
            description="Retries of a call after the first attempt, after 5xx, 429, timeouts "
            "and broken answers (0: one attempt)",
        ),
        th.Property(
            "retry_base_seconds",
            th.NumberType(minimum=0, maximum=600),
            title="First retry wait (seconds)",
            default=1.0,
            description="First wait before a retry; doubles on each further retry",
        ),
        th.Property(
            "retry_max_seconds",
            th.NumberType(minimum=0, maximum=3600),
            title="Longest retry wait (seconds)",
            default=300,
            description="Longest wait before a retry, Retry-After included",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            title="Mark deleted rows (ACTIVATE_VERSION)",
            default=True,
            description="Let targets retire rows that vanished upstream (ACTIVATE_VERSION)",
        ),
        th.Property(
            "backend",
            th.StringType,
            title="Directory backend",
            default="auto",
            allowed_values=["auto", *BACKENDS],
            description="sql or ldap; auto finds it from the answers",
        ),
        th.Property(
            "api_era",
            th.StringType,
            title="API era",
            default="auto",
            allowed_values=["auto", *ERAS],
            description="The release's answer shapes (see the README); auto finds them",
        ),
        th.Property(
            "domains",
            th.ArrayType(th.StringType),
            title="Domains",
            description=(
                "Read only these domains; needed before iRedAdmin-Pro-SQL 2.8.0 / -LDAP 3.0, "
                "which have no domain list"
            ),
        ),
    ).to_dict()

    @cached_property
    def api(self) -> IRedAdminClient:
        """The run's one logged-in session, shared by all streams."""
        return IRedAdminClient.from_config(dict(self.config), self.logger)

    @override  # type: ignore[misc]  # final in the SDK, whose dry run has no time budget
    def run_connection_test(self) -> bool:
        """``--test``: log in on a short budget; a report, or one line naming the cause."""
        return probe.run(self)

    @override
    def discover_streams(self) -> list[IRedAdminStream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """In the order of ``STREAM_TYPES``, which the sync follows, not by name:
        ``users`` (the most records, one core's work) comes before the streams that
        mostly wait on the server, whose calls are made meanwhile
        (:class:`~tap_iredadmin.client.ReadAhead`)."""
        position: dict[type[Stream], int] = {kind: i for i, kind in enumerate(STREAM_TYPES)}
        return dict(sorted(super().streams.items(), key=lambda item: position[type(item[1])]))


if __name__ == "__main__":
    TapIRedAdmin.cli()
