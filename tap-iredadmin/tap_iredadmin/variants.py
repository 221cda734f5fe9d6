"""Every shape iRedAdmin-Pro answers in, turned into the current SQL answers.

Two backends (SQL and LDAP) and four releases ("eras", named by the SQL release they
precede; the API document pairs each SQL release with an LDAP one):

| era | SQL | LDAP | what differs |
|---|---|---|---|
| ``current`` | 2.8.0+ | 3.0+ | the shapes the streams are declared in |
| ``pre-2.8`` | 2.7 | 2.9 | no ``GET /api/domains``; LDAP ``accountSetting`` as ``key:value`` strings and no catch-all in the domain profile |
| ``pre-2.7`` | 2.6 | 2.8 | no greylisting endpoints; SQL ``forwarding``, alias ``goto`` and ``catchall`` as comma-joined strings, ``islist`` |
| ``pre-2.6`` | before 2.6 | before 2.8 | ``success``/``msg`` instead of ``_success``/``_msg``; SQL ``cn``, ``mailQuota``, ``preferredLanguage`` instead of ``name``, ``quota``, ``language`` |

Every name below carries its evidence: ``FACT`` is in public material (the API
document's changelog, iRedMail's LDAP schema ``iredmail.schema`` and LDIF templates,
the open-source iRedAdmin's and iRedAPD's LDAP code); ``ASSUMED`` is this tap's guess at
how the closed iRedAdmin-Pro names or renders it in JSON. Correct a wrong guess here:
nothing else in the tap knows these names.
"""  # noqa: E501

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

FACT = "fact"
ASSUMED = "assumed"

BACKENDS = ("sql", "ldap")
ERAS = ("current", "pre-2.8", "pre-2.7", "pre-2.6")
RELEASES = {
    "current": "iRedAdmin-Pro-SQL 2.8.0+ / -LDAP 3.0+",
    "pre-2.8": "iRedAdmin-Pro-SQL 2.7 / -LDAP 2.9",
    "pre-2.7": "iRedAdmin-Pro-SQL 2.6 / -LDAP 2.8",
    "pre-2.6": "iRedAdmin-Pro-SQL before 2.6 / -LDAP before 2.8",
}

# The field every row of a kind has (its primary key, or the domain's name).
KEY_FIELDS = {"domain": "domain", "user": "username", "alias": "address", "mailing_list": "address"}

# Keys that hold a password hash, in any variant: dropped as soon as an answer is parsed.
SECRET_KEYS = ("password", "userPassword")  # FACT: userPassword is iRedMail's LDAP attribute


@dataclass(frozen=True)
class Variant:
    """What a server speaks, and how the tap knows."""

    backend: str  # sql | ldap
    era: str  # one of ERAS
    evidence: str  # what showed it (or "forced by the setting")

    @property
    def has_domain_list(self) -> bool:
        return ERAS.index(self.era) < ERAS.index("pre-2.8")

    @property
    def has_greylisting(self) -> bool:
        return ERAS.index(self.era) < ERAS.index("pre-2.7")

    def describe(self) -> str:
        return f"backend {self.backend}, era {self.era} ({RELEASES[self.era]}; {self.evidence})"


def era_from(*, old_envelope: bool, greylisting: bool, domain_list: bool) -> str:
    """The newest era whose traits match what the server showed."""
    if old_envelope:
        return "pre-2.6"
    if not greylisting:
        return "pre-2.7"
    if not domain_list:
        return "pre-2.8"
    return "current"


# -- the envelope ----------------------------------------------------------------
# FACT (changelog, SQL-2.6.0 / LDAP-2.8.0): success/msg were renamed _success/_msg.
# ASSUMED: the data key of those releases; both spellings are read.
SUCCESS_KEYS = ("_success", "success")
REASON_KEYS = ("_msg", "msg")
DATA_KEYS = ("_data", "data", "setting")  # throttles answer under "setting" (observed)


def success_of(body: Any) -> bool | None:
    """The envelope's success flag, None when the body is no iRedAdmin envelope."""
    if isinstance(body, dict):
        for key in SUCCESS_KEYS:
            if key in body:
                return body[key] is True
    return None


def reason_of(body: dict[str, Any]) -> str:
    """The failure reason, cut short (it may be a Python exception text)."""
    for key in REASON_KEYS:
        if body.get(key):
            return str(body[key])[:200]
    return "no reason given"


def is_old_envelope(body: Any) -> bool:
    return isinstance(body, dict) and "success" in body and "_success" not in body


# -- older SQL releases ----------------------------------------------------------
# FACT (changelog, SQL-2.6.0): cn -> name, mailQuota -> quota, preferredLanguage ->
# language. ASSUMED: they apply to the account rows (users, aliases, lists), not to the
# domain row, whose quota is a domain limit.
OLD_SQL_NAMES = {"cn": "name", "mailQuota": "quota", "preferredLanguage": "language"}
# FACT (changelog, SQL-2.7.0): comma-joined strings that became lists.
OLD_SQL_JOINED = {"forwarding": "forwardings", "goto": "members"}
OLD_SQL_GONE = ("islist",)  # FACT (changelog, SQL-2.7.0): "islist is gone"


def from_old_sql(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in OLD_SQL_GONE:
            continue
        if key in OLD_SQL_JOINED:
            out[OLD_SQL_JOINED[key]] = split_joined(value)
        elif key == "catchall" and isinstance(value, str):
            out[key] = split_joined(value)
        else:
            out[OLD_SQL_NAMES.get(key, key)] = value
    return out


def split_joined(value: Any) -> list[str]:
    """``"a@x,b@x"`` (before SQL-2.7.0) as a list; a list stays a list."""
    if isinstance(value, list):
        return value
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


# -- the LDAP backend ----------------------------------------------------------------
@dataclass(frozen=True)
class Attr:
    """One LDAP attribute: the record field it fills, how to read it, the evidence."""

    field: str
    kind: str  # text | list | int | bytes_mb | status | yes_no | time | days | settings
    evidence: str


_TIMESTAMPS = {
    "createTimestamp": Attr("created", "time", FACT),  # LDAP operational attribute
    "modifyTimestamp": Attr("modified", "time", FACT),
    "expiredDate": Attr("expired", "time", FACT),  # iredmail.schema, YYYYMMDDHHMMSSZ
    "accountStatus": Attr("active", "status", FACT),  # iredmail.schema: active, disabled
}
LDAP_DOMAIN = {
    "domainName": Attr("domain", "text", FACT),
    "cn": Attr("description", "text", FACT),  # the API's domain "name" (SQL: description)
    "disclaimer": Attr("disclaimer", "text", FACT),
    "domainCurrentQuotaSize": Attr("quota", "int", ASSUMED),  # the unit (MB) is assumed
    "mtaTransport": Attr("transport", "text", FACT),
    "domainBackupMX": Attr("backupmx", "yes_no", FACT),
    "accountSetting": Attr("settings", "settings", FACT),
    # the domain profile (GET /api/domain/<domain>)
    "domainAliasName": Attr("alias_domains", "list", FACT),
    "domainSenderBccAddress": Attr("sbcc_addr", "text", FACT),
    "domainRecipientBccAddress": Attr("rbcc_addr", "text", FACT),
    "senderRelayHost": Attr("relayhost", "text", ASSUMED),
    "domainCurrentUserNumber": Attr("num_existing_users", "int", FACT),
    "catchall": Attr("catchall", "list", FACT),  # changelog LDAP-3.0; the key name assumed
    **_TIMESTAMPS,
}
# ASSUMED: the domain limits live in accountSetting under the API's parameter names.
LDAP_DOMAIN_LIMITS = {
    "numberOfUsers": "mailboxes",
    "numberOfAliases": "aliases",
    "numberOfLists": "maillists",
    "maxUserQuota": "maxquota",
}
LDAP_USER = {
    "mail": Attr("username", "text", FACT),
    "cn": Attr("name", "text", FACT),
    "preferredLanguage": Attr("language", "text", FACT),
    "mailQuota": Attr("quota", "bytes_mb", FACT),  # bytes (iRedMail's LDIF templates)
    "mtaTransport": Attr("transport", "text", FACT),
    "departmentNumber": Attr("department", "text", ASSUMED),  # inetOrgPerson's attribute
    "employeeNumber": Attr("employeeid", "text", FACT),
    "domainGlobalAdmin": Attr("isglobaladmin", "yes_no", FACT),
    "accountSetting": Attr("settings", "settings", FACT),
    "shadowLastChange": Attr("passwordlastchange", "days", FACT),  # days since 1970
    # the user profile (GET /api/user/<mail>)
    "shadowAddress": Attr("aliases", "list", FACT),  # per-user alias addresses
    "memberOfGroup": Attr("mailing_lists", "list", FACT),  # lists are LDAP groups
    "mailForwardingAddress": Attr("forwardings", "list", FACT),
    "userSenderBccAddress": Attr("sender_bcc_address", "text", FACT),
    "userRecipientBccAddress": Attr("recipient_bcc_address", "text", FACT),
    **_TIMESTAMPS,
}
LDAP_SERVICES = "enabledService"  # FACT: multi-valued, one service name each
LDAP_ADMIN_SERVICE = "domainadmin"  # ASSUMED: the service value that marks a domain admin
LDAP_ALIAS = {
    "mail": Attr("address", "text", FACT),
    "cn": Attr("name", "text", FACT),
    # FACT (iRedAPD's LDAP queries): an alias's members are its mailForwardingAddress
    "mailForwardingAddress": Attr("members", "list", FACT),
    "listModerator": Attr("moderators", "list", ASSUMED),
    **_TIMESTAMPS,
}
LDAP_MAILING_LIST = {
    "mail": Attr("address", "text", FACT),
    "cn": Attr("name", "text", FACT),
    "description": Attr("description", "text", FACT),
    "accessPolicy": Attr("accesspolicy", "text", FACT),
    "mailingListID": Attr("mlid", "text", FACT),
    "maxMessageSize": Attr("maxmsgsize", "int", FACT),
    "mtaTransport": Attr("transport", "text", FACT),
    "accountSetting": Attr("settings", "settings", FACT),
    **_TIMESTAMPS,
}
# Record fields an LDAP server has no source for: always null there.
LDAP_UNAVAILABLE = {
    "users": ("rank",),  # an SQL column only
    "aliases": ("accesspolicy",),  # FACT: "only available for SQL backends"
    "mailing_lists": ("id", "is_newsletter"),  # an SQL row id; not an LDAP attribute
}
# The SQL service columns (enable<service> in vmail.mailbox, iRedMail's SQL template):
# an LDAP entry lists only the enabled ones, so these say which are off.
SQL_SERVICES = (
    "smtp", "smtpsecured", "pop3", "pop3secured", "imap", "imapsecured", "deliver", "lda",
    "managesieve", "managesievesecured", "sieve", "sievesecured", "internal", "doveadm",
    "lib-storage", "indexer-worker", "lmtp", "dsync", "sogo",
)  # fmt: skip


def looks_ldap(row: dict[str, Any]) -> bool:
    """A domain row with LDAP attribute names (``domainName``, ``accountStatus``)."""
    return "domainName" in row or "accountStatus" in row


def from_ldap(kind: str, row: dict[str, Any], *, detail: bool = False) -> dict[str, Any]:
    """An LDAP answer (``kind``: domain, user, alias, mailing_list) as the SQL one.

    LDAP keeps no empty values: in a profile (``detail``) an absent multi-valued
    attribute is an empty list; an absent single value stays absent (null).
    Attributes the tap does not know keep their LDAP names (they land in ``extra``).
    """
    mapping = {
        "domain": LDAP_DOMAIN,
        "user": LDAP_USER,
        "alias": LDAP_ALIAS,
        "mailing_list": LDAP_MAILING_LIST,
    }[kind]
    out: dict[str, Any] = {}
    for key, value in row.items():
        attr = mapping.get(key)
        if attr is not None:
            out[attr.field] = _read(attr.kind, value)
        elif kind == "user" and key == LDAP_SERVICES:
            enabled = [str(v) for v in _as_list(value)]
            out["isadmin"] = LDAP_ADMIN_SERVICE in enabled
            services = {name: name in enabled for name in SQL_SERVICES}
            services |= {name: True for name in enabled if name != LDAP_ADMIN_SERVICE}
            out.update({f"enable{name}": on for name, on in services.items()})
        else:
            out[key] = value
    if kind == "domain" and isinstance(out.get("settings"), dict):
        settings = dict(out["settings"])
        for key, field in LDAP_DOMAIN_LIMITS.items():
            if key in settings:
                out[field] = settings.pop(key)
        out["settings"] = settings
    if any(attr.kind == "settings" for attr in mapping.values()):
        out.setdefault("settings", {})  # an entry without accountSetting has none
    if kind == "user":
        out.setdefault("isadmin", False)
        out.setdefault("isglobaladmin", False)
    if kind != "domain" and "@" in str(out.get("username") or out.get("address") or ""):
        # an entry sits under its domain and carries no domain attribute
        out.setdefault("domain", str(out.get("username") or out["address"]).rsplit("@", 1)[1])
    if detail:
        for attr in mapping.values():
            if attr.kind == "list" and attr.field != "catchall":
                out.setdefault(attr.field, [])
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _single(value: Any) -> Any:
    """A single-valued attribute, whether sent as a value or a one-item list."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _read(kind: str, value: Any) -> Any:
    if kind == "list":
        return [str(v) for v in _as_list(value) if v not in (None, "")]
    if kind == "settings":
        return parse_account_setting(value)
    value = _single(value)
    if value is None:
        return None
    if kind == "status":
        return str(value).lower() == "active"
    if kind == "yes_no":
        return str(value).lower() == "yes"
    if kind == "bytes_mb":
        return int(str(value)) // (1024 * 1024)
    if kind == "int":
        return int(str(value))
    if kind == "time":
        return ldap_time(value)
    if kind == "days":
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=int(str(value)))).isoformat()
    return value


def parse_account_setting(value: Any) -> dict[str, Any]:
    """``accountSetting``: a dict since LDAP-3.0, before a list of ``key:value`` strings.

    FACT (changelog, LDAP-3.0): the dict form turned ``create_max_domains:5`` into the
    number 5, so digits become integers here too; a key repeated in the list form
    (a multi-valued setting) becomes a list.
    """
    if isinstance(value, dict):
        return dict(value)
    settings: dict[str, Any] = {}
    for item in _as_list(value):
        key, sep, text = str(item).partition(":")
        if not sep:
            continue
        parsed: Any = int(text) if re.fullmatch(r"-?\d+", text) else text
        if key in settings:
            previous = settings[key]
            settings[key] = [*(previous if isinstance(previous, list) else [previous]), parsed]
        else:
            settings[key] = parsed
    return settings


def ldap_time(value: Any) -> str | None:
    """LDAP generalized time (``20231031091244Z``) as an ISO string in UTC."""
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z?", str(value))
    if match is None:
        return str(value)
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).isoformat()
