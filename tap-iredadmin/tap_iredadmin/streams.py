"""The iRedAdmin-Pro streams: full-table reads over the tap's shared API session."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import chain
from typing import TYPE_CHECKING, Any

from mailtaps_common.keys import KeyedRecords
from mailtaps_common.selection import WholeRecords
from mailtaps_common.text import StorableText
from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from .client import ApiError, IRedAdminClient, ReadAhead, paired

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

Extra = th.Property(
    "extra",
    th.ObjectType(additional_properties=True),
    description="Columns this tap does not know (they differ between iRedMail versions)",
)
Settings = th.Property("settings", th.ObjectType(additional_properties=True))
Lifecycle = [
    th.Property("created", th.DateTimeType),
    th.Property("modified", th.DateTimeType, description="Not reliable: often never bumped"),
    th.Property("expired", th.DateTimeType),
    th.Property("active", th.BooleanType),
]
Addresses = th.ArrayType(th.StringType)


class IRedAdminStream(KeyedRecords, StorableText, WholeRecords, Stream):
    """A whole table per run; rows gone upstream are retired with ACTIVATE_VERSION.

    The SDK writes ACTIVATE_VERSION before the first record, so a target like
    target-postgres marks every existing row deleted and un-marks each row as it
    comes again: a run that fails or skips part of the table would leave live
    rows marked deleted. Here the message is held back until the table has been
    read whole, and not sent at all when a part was skipped.
    """

    # conform() already gives every value its schema type; the SDK's second pass
    # cost about a third of the time of writing a user record.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._finished = False
        self._skipped: list[str] = []
        self._read_ahead: ReadAhead[dict[str, Any]] | None = None

    @property
    def api(self) -> IRedAdminClient:
        return self._tap.api  # type: ignore[attr-defined, no-any-return]  # a TapIRedAdmin

    def read(self) -> Iterable[dict[str, Any]]:
        """The stream's rows as the API gives them."""
        raise NotImplementedError

    def read_ahead(self, rank: int) -> None:
        """Start reading the rows now, before the stream's turn (see ReadAhead); the
        ``rank``-th stream read ahead gets places for calls after those before it."""
        if self._read_ahead is None:
            self._read_ahead = ReadAhead(self.api.ranked(rank, self.read()), self.api.settle)

    @override
    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        if self.api.max_workers > 1:  # one worker: one call at a time, so no reading ahead
            self.api.domains()  # logged in and the server's variant known, once, first
            streams = list(self._tap.streams.values())
            later = streams[streams.index(self) + 1 :]  # their calls overlap these records
            for rank, stream in enumerate(later, start=1):
                if stream.selected and isinstance(stream, IRedAdminStream):
                    stream.read_ahead(rank)
        conform = self._conformer
        for row in self._read_ahead or self.read():
            yield conform(self.storable(row, suspect=self.api.unstorable_seen))
        self._finished = True
        if self._stream_version is not None:  # set by the SDK when the messages are on
            self._write_activate_version_message(self._stream_version)

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        """The SDK calls this before the first record: held back until the end."""
        if self._finished and not self._skipped:
            super()._write_activate_version_message(full_table_version)

    @cached_property
    def _conformer(self) -> Conformer:
        return Conformer(self.schema)

    def skip_part(self, what: str, failure: ApiError) -> None:
        """Warn about a part of the table left out; the target keeps its rows."""
        self._skipped.append(what)
        self.logger.warning(
            "%s: skipped %s: %s; rows loaded earlier are kept as they are (no ACTIVATE_VERSION)",
            self.name, what, failure,
        )  # fmt: skip

    def domain_names(self) -> list[str]:
        return list(self.api.domains())


class DomainsStream(IRedAdminStream):
    name = "domains"
    primary_keys = ("domain",)
    schema = th.PropertiesList(
        th.Property("domain", th.StringType, required=True),
        th.Property("description", th.StringType),
        th.Property("disclaimer", th.StringType),
        th.Property("aliases", th.IntegerType, description="Max number of aliases, 0 = no limit"),
        th.Property("mailboxes", th.IntegerType, description="Max number of mailboxes"),
        th.Property("maillists", th.IntegerType, description="Max number of mailing lists"),
        th.Property("maxquota", th.IntegerType, description="Max quota of a mailbox, MB"),
        th.Property("quota", th.IntegerType, description="Quota of the whole domain, MB"),
        th.Property("transport", th.StringType),
        th.Property("backupmx", th.BooleanType),
        Settings,
        *Lifecycle,
        th.Property("catchall", Addresses),
        th.Property("alias_domains", th.ArrayType(th.StringType)),
        th.Property("sbcc_addr", th.StringType),
        th.Property("rbcc_addr", th.StringType),
        th.Property("relayhost", th.StringType),
        th.Property("num_existing_users", th.IntegerType),
        th.Property("allocated_quota", th.IntegerType),
        Extra,
    ).to_dict()

    @override
    def read(self) -> Iterator[dict[str, Any]]:
        domains = self.api.domains()
        details = self.api.domain_details(list(domains))
        for row, detail in zip(domains.values(), details, strict=True):
            yield {**row, **detail}


class UsersStream(IRedAdminStream):
    name = "users"
    primary_keys = ("username",)
    schema = th.PropertiesList(
        th.Property("username", th.StringType, required=True),
        th.Property("name", th.StringType),
        th.Property("language", th.StringType),
        th.Property("quota", th.IntegerType, description="Mailbox quota, MB (0 = unlimited)"),
        th.Property("domain", th.StringType),
        th.Property("transport", th.StringType),
        th.Property("department", th.StringType),
        th.Property("rank", th.StringType),
        th.Property("employeeid", th.StringType),
        th.Property("isadmin", th.BooleanType),
        th.Property("isglobaladmin", th.BooleanType),
        th.Property(
            "services",
            th.ObjectType(additional_properties=th.BooleanType),
            description="The enable<service> columns: service name -> enabled",
        ),
        Settings,
        th.Property("passwordlastchange", th.DateTimeType),
        *Lifecycle,
        th.Property("last_login_imap", th.DateTimeType),
        th.Property("last_login_pop3", th.DateTimeType),
        th.Property("last_login_lda", th.DateTimeType),
        th.Property("used_quota_bytes", th.IntegerType),
        th.Property("used_quota_messages", th.IntegerType),
        # from /api/user/<mail>, with the setting user_details
        th.Property("aliases", Addresses),
        th.Property("mailing_aliases", Addresses),
        th.Property("mailing_lists", Addresses),
        th.Property("forwardings", Addresses),
        th.Property("sender_bcc_address", th.StringType),
        th.Property("recipient_bcc_address", th.StringType),
        th.Property("stored_bytes", th.IntegerType),
        th.Property("stored_messages", th.IntegerType),
        Extra,
    ).to_dict()
    DETAIL_FIELDS = (
        "aliases", "mailing_aliases", "mailing_lists", "forwardings",
        "sender_bcc_address", "recipient_bcc_address", "stored_bytes", "stored_messages",
    )  # fmt: skip

    @override
    def read(self) -> Iterator[dict[str, Any]]:
        users = chain.from_iterable(self.api.users(self.domain_names()))
        if not self.config.get("user_details"):
            for row in users:
                yield _flatten_user(row)
            return
        details = paired(users, lambda rows: self.api.user_details(r["username"] for r in rows))
        for row, detail in details:
            if detail is None:
                self.logger.info("users: %s was deleted during the run", row["username"])
            else:
                fields = {key: detail[key] for key in self.DETAIL_FIELDS if key in detail}
                yield _flatten_user({**row, **fields})


class AliasesStream(IRedAdminStream):
    name = "aliases"
    primary_keys = ("address",)
    schema = th.PropertiesList(
        th.Property("address", th.StringType, required=True),
        th.Property("name", th.StringType),
        th.Property("accesspolicy", th.StringType),
        th.Property("domain", th.StringType),
        *Lifecycle,
        th.Property("members", Addresses),
        th.Property("moderators", Addresses),
        Extra,
    ).to_dict()

    @override
    def read(self) -> Iterator[dict[str, Any]]:
        """The list answers have no members: they come from ``/api/alias/<mail>``."""
        rows = chain.from_iterable(self.api.aliases(self.domain_names()))
        details = paired(rows, lambda rows: self.api.alias_details(r["address"] for r in rows))
        for row, detail in details:
            if detail is None:
                self.logger.info("aliases: %s was deleted during the run", row["address"])
            else:
                yield {**row, **detail}


class MailingListsStream(IRedAdminStream):
    name = "mailing_lists"
    primary_keys = ("address",)
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType),
        th.Property("address", th.StringType, required=True),
        th.Property("domain", th.StringType),
        th.Property("transport", th.StringType),
        th.Property("accesspolicy", th.StringType),
        th.Property("maxmsgsize", th.IntegerType),
        th.Property("name", th.StringType),
        th.Property("description", th.StringType),
        th.Property("mlid", th.StringType),
        th.Property("is_newsletter", th.BooleanType),
        Settings,
        *Lifecycle,
        Extra,
    ).to_dict()

    @override
    def read(self) -> Iterator[dict[str, Any]]:
        domains = self.domain_names()
        for domain, rows in zip(domains, self.api.mailing_lists(domains), strict=True):
            if isinstance(rows, ApiError):  # the mailing-list service (mlmmjadmin) is down
                self.skip_part(f"the mailing lists of {domain}", rows)
            else:
                yield from rows


class PoliciesStream(IRedAdminStream):
    """Spam, throttle, greylisting and greylisting-whitelist settings that are set,
    one record per (policy type, account, direction). Accounts: ``@.`` global,
    ``@domain``, ``user@domain`` (users with the setting ``user_policies``)."""

    name = "policies"
    primary_keys = ("policy_type", "account", "direction")
    schema = th.PropertiesList(
        th.Property(
            "policy_type",
            th.StringType,
            required=True,
            allowed_values=["spam", "throttle", "greylisting", "greylisting_whitelists"],
        ),
        th.Property("account", th.StringType, required=True),
        th.Property(
            "direction",
            th.StringType,
            required=True,
            description="inbound or outbound for throttles, any for the others",
        ),
        th.Property("scope", th.StringType, allowed_values=["global", "domain", "user"]),
        th.Property("domain", th.StringType),
        Settings,
    ).to_dict()

    @override
    def read(self) -> Iterator[dict[str, Any]]:
        domains = self.domain_names()
        accounts: Iterable[tuple[str, str]] = chain(
            [("global", "global")], (("domain", domain) for domain in domains)
        )
        if self.config.get("user_policies"):
            users = chain.from_iterable(self.api.users(domains))
            accounts = chain(accounts, (("user", user["username"]) for user in users))
        for (scope, name), found in paired(accounts, self.api.policies):
            if isinstance(found, ApiError):
                self.logger.warning(
                    "policies: skipped the global (@.) policies: %s; only a global admin "
                    "can read them, this admin still gets its domains' and users' policies",
                    found,
                )
                continue
            account = {"global": "@.", "domain": f"@{name}"}.get(scope, name)
            for policy_type, direction, settings in found:
                yield {
                    "policy_type": policy_type,
                    "account": account,
                    "direction": direction,
                    "scope": scope,
                    "domain": None if scope == "global" else account.rsplit("@", 1)[1],
                    "settings": settings,
                }


STREAM_TYPES = [DomainsStream, UsersStream, AliasesStream, MailingListsStream, PoliciesStream]


def _flatten_user(row: dict[str, Any]) -> dict[str, Any]:
    """Service flags into ``services``; the login and quota objects into columns."""
    columns, flags = _user_layout(tuple(row))
    flat = {key: row[key] for key in columns}
    flat["services"] = {  # to_bool's own quick case, inline: 19 flags on every mailbox
        service: value == 1
        if (value := row[key]).__class__ is int and 0 <= value <= 1
        else to_bool(value)
        for key, service in flags
    }
    last_login = row.get("last_login")
    if isinstance(last_login, dict):
        for protocol in ("imap", "pop3", "lda"):
            flat[f"last_login_{protocol}"] = last_login.get(protocol)
    used_quota = row.get("used_quota")
    if isinstance(used_quota, dict):
        flat["used_quota_bytes"] = used_quota.get("bytes")
        flat["used_quota_messages"] = used_quota.get("messages")
    return flat


@lru_cache(maxsize=64)  # every mailbox of a server has the same columns
def _user_layout(keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Of a mailbox's columns: those kept as they are, and the ``enable<service>``
    flags with their service names (the login and quota objects are neither)."""
    columns = tuple(
        key
        for key in keys
        if not key.startswith("enable") and key not in ("last_login", "used_quota")
    )
    flags = tuple((key, key.removeprefix("enable")) for key in keys if key.startswith("enable"))
    return columns, flags


# -- types -----------------------------------------------------------------
Normaliser = Callable[[Any], Any]


class Conformer:
    """Makes a record of the schema's columns with normalised values; other columns
    go to ``extra`` when the schema has it. Each column's normaliser is chosen once
    from the schema, not looked up again for every value."""

    def __init__(self, schema: dict[str, Any]) -> None:
        properties = schema["properties"]
        self.columns = [
            (name, *_normaliser(prop)) for name, prop in properties.items() if name != "extra"
        ]
        self.known = frozenset(name for name, _, _ in self.columns)
        self.has_extra = "extra" in properties

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        get = row.get
        record = {}
        for name, normalise, typed in self.columns:
            value = get(name)
            if value is None or normalise is None or value.__class__ is typed:
                record[name] = value
            else:
                record[name] = normalise(value)
        if self.has_extra:
            known = self.known
            record["extra"] = {key: value for key, value in row.items() if key not in known}
        return record


def _normaliser(prop: dict[str, Any]) -> tuple[Normaliser | None, type | None]:
    """The function giving a value of ``prop`` its type (None: kept as it is), and the
    Python type of a value it would return unchanged (most values already have it)."""
    types = prop.get("type", [])
    if prop.get("format") == "date-time":
        return to_datetime, None
    if "boolean" in types:
        return to_bool, bool
    if "integer" in types:
        return to_int, int
    if "string" in types:
        return _to_str, str
    return None, None


def _to_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def to_bool(value: Any) -> bool | None:
    """0/1, y/n, yes/no (any case) as booleans; anything else is unknown."""
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):  # the usual case, quickly
        return value == 1
    text = str(value).strip().lower()
    if text in ("1", "y", "yes", "true"):
        return True
    if text in ("0", "n", "no", "false", ""):
        return False
    return None


def to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


LAST_EPOCH_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z, the last a datetime holds


def to_datetime(value: Any) -> str | None:
    """Naive UTC ISO strings and epoch seconds as ISO 8601 with offset; 0, empty,
    MySQL zero dates and epochs past year 9999 (milliseconds, say) are none."""
    if value.__class__ is str:
        return _text_to_datetime(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 < value <= LAST_EPOCH_SECOND:  # NaN fails this too
            return None
        if value.__class__ is int:  # last logins: whole seconds, a new one on every row
            day, second = divmod(value, 86_400)
            minute, second = divmod(second, 60)
            return _epoch_day(day) + _MINUTES_OF_DAY[minute] + _SECONDS_UTC[second]
        return datetime.fromtimestamp(value, UTC).isoformat()
    return _text_to_datetime(str(value))


# An epoch second as the day's date from a cache and the time from two tables: a
# third of the cost of datetime.fromtimestamp(...).isoformat(), and the same text.
_MINUTES_OF_DAY = tuple(f"{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60))
_SECONDS_UTC = tuple(f"{second:02d}+00:00" for second in range(60))


@lru_cache(maxsize=4096)
def _epoch_day(day: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).strftime("%Y-%m-%dT")


@lru_cache(maxsize=4096)  # the same few dates (never-bumped, never-expiring) on every row
def _text_to_datetime(value: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(value)  # either separator; most values as they are
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return parsed.isoformat() + "+00:00"  # what replace(tzinfo=UTC) would print, cheaper
    return parsed.isoformat()
