"""iRedAdmin-Pro RESTful API imitation (the API as ``tap-iredadmin/README.md`` describes it).

Served under ``/iredadmin``: ``POST /iredadmin/api/login`` opens a cookie session,
the GET endpoints answer the ``{"_success": ..., "_data": ...}`` envelope over a
seeded data set shaped like iRedMail's SQL tables (vmail, amavisd, iredapd).
Tests change the data through the Python API (``add_user``, ``delete_alias``,
``set_policy``, ...) and read ``truth()``; ``expire_sessions()`` and the
settings below switch the contract's quirks and faults on. ``backend="LDAP"`` and
``era`` (see ``ERAS``) serve the same directory as the LDAP backend or an older
release would answer it.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from .core import Request, Response, SandboxApp

BASE_PATH = "/iredadmin"
DEMO_ADMIN = "postmaster@example.com"
DEMO_PASSWORD = "sandbox-demo-password"  # noqa: S105 - the sandbox's own fake account
DEMO_DOMAIN_ADMIN = "admin@example.net"  # a normal admin of example.net only
DEMO_DOMAIN_ADMIN_PASSWORD = "sandbox-domain-admin-password"  # noqa: S105
NAMED_DOMAINS = ["example.com", "example.net", "example.org"]

VENDOR_FAULTS = ("PERMISSION_DENIED", "API_SERVER_NOT_REACHABLE", "LOGIN_REQUIRED")
SERVICES = [
    "smtp", "smtpsecured", "pop3", "pop3secured", "imap", "imapsecured", "deliver", "lda",
    "managesieve", "managesievesecured", "sieve", "sievesecured", "internal", "doveadm",
    "lib-storage", "indexer-worker", "lmtp", "dsync", "sogo",
]  # fmt: skip
ACCESS_POLICIES = ["public", "domain", "subdomain", "membersonly", "moderatorsonly"]
_FIRST = ["anna", "bruno", "chen", "dara", "emil", "fatima", "goran", "hana", "ivan", "jules"]
_LAST = ["kowalski", "larsen", "moreau", "nakamura", "okafor", "petrov", "quinn", "rossi"]
_PERSONS = [f"{first}.{last}" for last in _LAST for first in _FIRST]
_ALIAS_NAMES = ["sales", "support", "info", "billing", "team", "hr", "press", "noc", "ops"]
_LIST_NAMES = ["announce", "newsletter", "discuss", "staff", "devel"]
_DEPARTMENTS = ["", "Sales", "Engineering", "Support", "Finance"]
_LANGUAGES = ["en_US", "de_DE", "fr_FR", "ja_JP", "pt_BR"]
EPOCH_2023 = 1_672_531_200
# Releases whose answers differ, newest first, named by the SQL release they precede
# (LDAP equivalents in brackets), per the changelog of the API document:
# current   SQL-2.8.0+ (LDAP-3.0+)
# pre-2.8   no GET /api/domains; LDAP: accountSetting as "key:value" strings, no catch-all
#           in the domain profile
# pre-2.7   (LDAP before 2.9.0) also no greylisting endpoints; SQL: forwarding, alias goto
#           and catchall as comma-joined strings, islist
# pre-2.6   (LDAP before 2.8.0) also success/msg instead of _success/_msg; SQL: cn,
#           mailQuota, preferredLanguage instead of name, quota, language
ERAS = ("current", "pre-2.8", "pre-2.7", "pre-2.6")


@dataclass
class IRedAdminSettings:
    """Switchable behaviour and scale of the imitation."""

    admins: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            DEMO_ADMIN: {"password": DEMO_PASSWORD, "global": True, "domains": []},
            DEMO_DOMAIN_ADMIN: {
                "password": DEMO_DOMAIN_ADMIN_PASSWORD,
                "global": False,
                "domains": ["example.net"],
            },
        }
    )
    domains: int = 3  # example.com/.net/.org, then d4.example.test, ...
    users_per_domain: int = 12
    aliases_per_domain: int = 4
    lists_per_domain: int = 2
    user_policy_share: float = 0.25  # users with a policy of their own
    # MYSQL / PGSQL (SQL answers, cookie iRedAdmin-Pro-MYSQL / -PGSQL) or LDAP (LDAP
    # attribute names, cookie iRedAdmin-Pro-LDAP): the same directory either way
    backend: str = "MYSQL"
    # which release's answers: see ERAS
    era: str = "current"
    api_enabled: bool = True
    allowed_ips: list[str] | None = None  # RESTRICT_API_ACCESS; None = anyone
    session_idle_seconds: float = 1800.0
    expire_sessions_after_calls: int | None = None  # drop every session once, after N calls
    # endpoints that answer a lost session with 303 to the login page, not LOGIN_REQUIRED
    redirect_prefixes: list[str] = field(default_factory=lambda: ["/api/user/", "/api/alias/"])
    # path prefix (under /iredadmin) -> fault served on every call to it
    endpoint_faults: dict[str, str] = field(default_factory=dict)
    extra_columns: bool = False  # a newer iRedMail: columns the tap does not know
    dropped_columns: list[str] = field(default_factory=list)  # an older one: columns missing
    numbers_as_strings: bool = False  # top-level numbers rendered as strings ("1024", "0")
    null_usernames: int = 0  # the first N mailboxes of each domain listed with username null
    login_echoes_password: bool = False  # login fails quoting the password it was sent


def _ts(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def _numbered(names: list[str], n: int) -> str:
    """The n-th name, with a round number once the list is used up: sales, ..., sales1."""
    return names[n % len(names)] + (str(n // len(names)) if n >= len(names) else "")


def password_hash(seed: int, mail: str) -> str:
    """A stable fake ``{SSHA512}`` hash, as iRedMail stores them."""
    digest = hashlib.sha512(f"{seed}:{mail}".encode()).digest()
    return "{SSHA512}" + base64.b64encode(digest + mail.encode()[:8]).decode()


class IRedAdminSandbox(SandboxApp):
    name = "iredadmin"

    def __init__(self, seed: int = 7, **settings: Any) -> None:
        super().__init__(seed)
        self.settings = IRedAdminSettings(**settings)
        self.sessions: dict[str, dict[str, Any]] = {}
        self._api_call_count = 0
        self.domains: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, dict[str, Any]]] = {}
        self.aliases: dict[str, dict[str, dict[str, Any]]] = {}
        self.mailing_lists: dict[str, dict[str, dict[str, Any]]] = {}
        self.spam_policies: dict[str, dict[str, Any]] = {}
        self.throttles: dict[tuple[str, str], dict[str, Any]] = {}
        self.greylisting: dict[str, str] = {}
        self.greylisting_whitelists: dict[str, dict[str, list[str]]] = {}
        self._generate()

        api = BASE_PATH + "/api"
        account = r"(?P<account>[^/]+)"
        self.route("GET", BASE_PATH + "/?", self.login_page)
        self.route("POST", api + "/login", self.login)
        self.route("GET", api + "/domains", self._api(self.get_domains))
        self.route("GET", api + r"/domain/(?P<domain>[^/]+)", self._api(self.get_domain))
        self.route("GET", api + r"/users/(?P<domain>[^/]+)", self._api(self.get_users))
        self.route("GET", api + r"/user/(?P<mail>[^/]+)", self._api(self.get_user))
        self.route("GET", api + r"/aliases/(?P<domain>[^/]+)", self._api(self.get_aliases))
        self.route("GET", api + r"/alias/(?P<mail>[^/]+)", self._api(self.get_alias))
        self.route("GET", api + r"/mls/(?P<domain>[^/]+)", self._api(self.get_mailing_lists))
        self.route("GET", api + "/spampolicy/global", self._api(self.get_spam_policy))
        self.route(
            "GET", api + r"/spampolicy/(?:domain|user)/" + account, self._api(self.get_spam_policy)
        )
        self.route(
            "GET", api + r"/throttle/" + account + r"/(?P<direction>inbound|outbound)",
            self._api(self.get_throttle),
        )  # fmt: skip
        self.route("GET", api + "/greylisting/all", self._api(self.get_greylisting_all))
        self.route("GET", api + r"/greylisting/" + account, self._api(self.get_greylisting))
        self.route(
            "GET", api + r"/greylisting/" + account + "/whitelists", self._api(self.get_whitelists)
        )

    # -- data -------------------------------------------------------------
    def domain_names(self) -> list[str]:
        count = self.settings.domains
        extra = [f"d{n}.example.test" for n in range(len(NAMED_DOMAINS) + 1, count + 1)]
        return (NAMED_DOMAINS + extra)[:count]

    def _generate(self) -> None:
        s = self.settings
        self._global_policies()
        for index, domain in enumerate(self.domain_names()):
            rng = random.Random(f"{self.seed}:{domain}")
            created = EPOCH_2023 + index * 86400 + rng.randrange(86400)
            self.domains[domain] = {
                "domain": domain,
                "description": f"{domain.split('.')[0].title()} Ltd",
                "disclaimer": "",
                "aliases": rng.choice([0, 100, 500]),
                "mailboxes": rng.choice([0, 1000, 5000]),
                "maillists": rng.choice([0, 10, 50]),
                "maxquota": rng.choice([0, 10240]),
                "quota": rng.choice([0, 512000, 1024000]),
                "transport": "dovecot",
                "backupmx": 1 if rng.random() < 0.1 else 0,
                "settings": {
                    "default_language": rng.choice(_LANGUAGES),
                    "default_user_quota": 1024,
                    "max_user_quota": 10240,
                    "min_passwd_length": 8,
                },
                "created": _ts(created),
                "modified": "1970-01-01T01:01:01",
                "expired": "9999-12-31T00:00:00",
                "active": 1,
                "_catchall": [],
                "_alias_domains": [f"alias-{domain}"] if rng.random() < 0.3 else [],
                "_relayhost": "",
            }
            self.users[domain] = {}
            self.aliases[domain] = {}
            self.mailing_lists[domain] = {}
            locals_ = ["postmaster"] if domain in NAMED_DOMAINS else []
            for admin in s.admins:
                if admin.endswith("@" + domain) and admin.split("@")[0] not in locals_:
                    locals_.append(admin.split("@")[0])
            n = 0
            while len(locals_) < s.users_per_domain:
                locals_.append(_numbered(_PERSONS, n))
                n += 1
            for local in locals_[: s.users_per_domain]:
                mail = f"{local}@{domain}"
                row = self._new_user(rng, mail, created)
                if mail in s.admins or local == "postmaster":
                    row["isadmin"] = 1
                    row["isglobaladmin"] = int(s.admins.get(mail, {}).get("global", False))
                self.users[domain][mail] = row
            mailboxes = list(self.users[domain])
            for n in range(s.aliases_per_domain):
                address = f"{_numbered(_ALIAS_NAMES, n)}@{domain}"
                members = rng.sample(mailboxes, min(len(mailboxes), rng.randint(1, 5)))
                if rng.random() < 0.2:
                    members.append(f"partner{n}@external.example")
                moderators = rng.sample(mailboxes, min(len(mailboxes), rng.choice([0, 0, 1, 2])))
                self.aliases[domain][address] = self._alias_row(
                    rng, address, domain, created, members=members, moderators=moderators
                )
            for n in range(s.lists_per_domain):
                local = _numbered(_LIST_NAMES, n)
                address = f"{local}@{domain}"
                self.mailing_lists[domain][address] = {
                    "id": index * 1000 + n + 1,
                    "address": address,
                    "domain": domain,
                    "transport": f"mlmmj:{domain}/{local}",
                    "accesspolicy": rng.choice(ACCESS_POLICIES),
                    "maxmsgsize": rng.choice([0, 10485760]),
                    "name": local.title(),
                    "description": f"{local} list of {domain}",
                    "mlid": hashlib.md5(address.encode()).hexdigest(),  # noqa: S324 - an id
                    "is_newsletter": 1 if local.startswith("newsletter") else 0,
                    "settings": {"only_subscriber_can_post": "yes", "max_message_size": 0},
                    "created": _ts(created + n),
                    "modified": "1970-01-01T01:01:01",
                    "expired": "9999-12-31T00:00:00",
                    "active": 1,
                    # own generator: the rest of the seeded data stays as it was
                    "_subscribers": random.Random(f"{self.seed}:{address}").sample(
                        mailboxes, len(mailboxes) // 3
                    ),
                }
            if mailboxes:
                self.domains[domain]["_catchall"] = [mailboxes[0]] if rng.random() < 0.4 else []
            self._domain_policies(rng, domain, mailboxes)

    def _new_user(self, rng: random.Random, mail: str, created: int) -> dict[str, Any]:
        local, domain = mail.split("@")
        disabled = set(rng.sample(SERVICES, rng.choice([0, 0, 1, 3])))
        last_imap = rng.choice([0, EPOCH_2023 + rng.randrange(90_000_000)])
        return {
            "username": mail,
            "password": password_hash(self.seed, mail),
            "name": local.replace(".", " ").title(),
            "language": rng.choice(_LANGUAGES),
            "quota": rng.choice([0, 1024, 2048, 10240]),
            "domain": domain,
            "transport": "",
            "department": rng.choice(_DEPARTMENTS),
            "rank": "normal",
            "employeeid": f"E{rng.randrange(100000):05d}" if rng.random() < 0.5 else "",
            "isadmin": 0,
            "isglobaladmin": 0,
            **{f"enable{service}": int(service not in disabled) for service in SERVICES},
            "settings": {"disabled_user_profiles": ["bcc", "relay"]} if rng.random() < 0.1 else {},
            # whole days: LDAP keeps the day only (shadowLastChange)
            "passwordlastchange": _ts((created + rng.randrange(10_000_000)) // 86400 * 86400),
            "created": _ts(created + rng.randrange(1000)),
            "modified": "1970-01-01T01:01:01",
            "expired": "9999-12-31T00:00:00",
            "active": 0 if rng.random() < 0.05 else 1,
            "last_login": {
                "imap": last_imap,
                "pop3": 0,
                "lda": EPOCH_2023 + rng.randrange(90_000_000),
            },
            "used_quota": {"bytes": rng.randrange(10**9), "messages": rng.randrange(20000)},
            "_forwardings": [],
        }

    def _alias_row(
        self,
        rng: random.Random,
        address: str,
        domain: str,
        created: int,
        *,
        members: list[str],
        moderators: list[str],
    ) -> dict[str, Any]:
        return {
            "address": address,
            "name": address.split("@")[0].title(),
            "accesspolicy": rng.choice(ACCESS_POLICIES),
            "domain": domain,
            "created": _ts(created),
            "modified": "1970-01-01T01:01:01",
            "expired": "9999-12-31T00:00:00",
            "active": 1,
            "_members": members,
            "_moderators": moderators,
        }

    @staticmethod
    def _spam_policy(account: str, rng: random.Random) -> dict[str, Any]:
        yes_no = lambda p: "Y" if rng.random() < p else "N"  # noqa: E731
        return {
            "id": rng.randrange(1, 10**6),
            "policy_name": account,
            "virus_lover": "N",
            "spam_lover": yes_no(0.1),
            "banned_files_lover": "N",
            "bad_header_lover": yes_no(0.2),
            "bypass_virus_checks": "N",
            "bypass_spam_checks": yes_no(0.1),
            "bypass_banned_checks": "N",
            "bypass_header_checks": yes_no(0.3),
            "spam_quarantine_to": "spam-quarantine",
            "virus_quarantine_to": "virus-quarantine",
            "spam_tag_level": None,
            "spam_tag2_level": round(rng.uniform(4, 8), 1),
            "spam_kill_level": round(rng.uniform(6, 10), 1),
            "spam_subject_tag": None,
            "spam_subject_tag2": "[SPAM] ",
            "message_size_limit": rng.choice([0, 10485760]),
            "banned_rulenames": "ALLOW_MS_OFFICE",
            "users_id": None,
        }

    @staticmethod
    def _throttle(account: str, direction: str, rng: random.Random) -> dict[str, Any]:
        return {
            "id": rng.randrange(1, 10**6),
            "account": account,
            "kind": direction,
            "priority": {"@.": 0}.get(account, 10 if account.startswith("@") else 100),
            "period": rng.choice([60, 3600, 86400]),
            "msg_size": rng.choice([-1, 0, 10485760]),
            "max_msgs": rng.choice([-1, 0, 100, 1000]),
            "max_quota": rng.choice([-1, 0, 1048576000]),
            "max_rcpts": rng.choice([-1, 0, 50]),
        }

    def _global_policies(self) -> None:
        rng = random.Random(f"{self.seed}:global")
        self.spam_policies["@."] = self._spam_policy("@.", rng)
        for direction in ("inbound", "outbound"):
            self.throttles["@.", direction] = self._throttle("@.", direction, rng)
        self.greylisting["@."] = "enabled"
        self.greylisting_whitelists["@."] = {
            "whitelists": ["192.168.0.0/16", "@partner.example", "203.0.113.7"],
            "whitelist_domains": ["gmail.com", "outlook.com"],
        }

    def _domain_policies(self, rng: random.Random, domain: str, mailboxes: list[str]) -> None:
        accounts = [f"@{domain}"]
        share = self.settings.user_policy_share
        accounts += [mail for mail in mailboxes if rng.random() < share]
        for account in accounts:
            if rng.random() < 0.6:
                self.spam_policies[account] = self._spam_policy(account, rng)
            for direction in ("inbound", "outbound"):
                if rng.random() < 0.5:
                    self.throttles[account, direction] = self._throttle(account, direction, rng)
            status = rng.choice(["enabled", "disabled", "inherit"])
            if status != "inherit":
                self.greylisting[account] = status
            if rng.random() < 0.4:
                self.greylisting_whitelists[account] = {
                    "whitelists": [f"198.51.100.{rng.randrange(1, 255)}", "@trusted.example"]
                }

    # -- Python API for tests ----------------------------------------------
    def add_user(self, mail: str, **fields: Any) -> dict[str, Any]:
        domain = mail.split("@")[1]
        with self.lock:
            row = self._new_user(random.Random(f"{self.seed}:{mail}"), mail, EPOCH_2023)
            row.update(fields)
            self.users[domain][mail] = row
            return row

    def update_user(self, mail: str, **fields: Any) -> None:
        with self.lock:
            self.users[mail.split("@")[1]][mail].update(fields)

    def delete_user(self, mail: str) -> None:
        """Delete a mailbox and everything iRedAdmin removes with it."""
        with self.lock:
            del self.users[mail.split("@")[1]][mail]
            for aliases in self.aliases.values():
                for alias in aliases.values():
                    alias["_members"] = [m for m in alias["_members"] if m != mail]
                    alias["_moderators"] = [m for m in alias["_moderators"] if m != mail]
            self.spam_policies.pop(mail, None)
            self.greylisting.pop(mail, None)
            self.greylisting_whitelists.pop(mail, None)
            for direction in ("inbound", "outbound"):
                self.throttles.pop((mail, direction), None)

    def add_alias(
        self, address: str, members: list[str], moderators: list[str] | None = None, **fields: Any
    ) -> None:
        domain = address.split("@")[1]
        with self.lock:
            row = self._alias_row(
                random.Random(address), address, domain, EPOCH_2023,
                members=list(members), moderators=list(moderators or []),
            )  # fmt: skip
            row.update(fields)
            self.aliases[domain][address] = row

    def update_alias(self, address: str, **fields: Any) -> None:
        """Change an alias; ``members`` and ``moderators`` replace the lists."""
        with self.lock:
            row = self.aliases[address.split("@")[1]][address]
            for key in ("members", "moderators"):
                if key in fields:
                    row["_" + key] = list(fields.pop(key))
            row.update(fields)

    def delete_alias(self, address: str) -> None:
        with self.lock:
            del self.aliases[address.split("@")[1]][address]

    def set_policy(self, kind: str, account: str, value: Any, direction: str | None = None) -> None:
        """Set (or with ``None`` remove) a spam, throttle, greylisting or whitelist policy."""
        tables: dict[str, dict[Any, Any]] = {
            "spam": self.spam_policies,
            "throttle": self.throttles,
            "greylisting": self.greylisting,
            "greylisting_whitelists": self.greylisting_whitelists,
        }
        key = (account, direction) if kind == "throttle" else account
        with self.lock:
            if value is None:
                tables[kind].pop(key, None)
            else:
                tables[kind][key] = value

    def expire_sessions(self) -> None:
        """Every logged-in session is gone, as after 30 minutes idle."""
        with self.lock:
            self.sessions.clear()

    def visible_domains(self, admin: str | None) -> list[str]:
        spec = self.settings.admins.get(admin or DEMO_ADMIN, {"global": True})
        if spec["global"]:
            return list(self.domains)
        return [d for d in self.domains if d in spec["domains"]]

    def truth(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """What an admin (``?admin=``, default the global demo admin) can read."""
        admin = query.get("admin", [DEMO_ADMIN])[0]
        is_global = self.settings.admins[admin]["global"]
        with self.lock:
            domains = self.visible_domains(admin)
            users = [mail for d in domains for mail in self.users[d]]
            mine = set(users) | {f"@{d}" for d in domains} | ({"@."} if is_global else set())
            return {
                "domains": domains,
                "users": users,
                "aliases": {
                    address: {"members": row["_members"], "moderators": row["_moderators"]}
                    for d in domains
                    for address, row in self.aliases[d].items()
                },
                "mailing_lists": [a for d in domains for a in self.mailing_lists[d]],
                "spam": {k: v for k, v in self.spam_policies.items() if k in mine},
                "throttle": {
                    f"{account}/{direction}": v
                    for (account, direction), v in self.throttles.items()
                    if account in mine
                },
                "greylisting": {k: v for k, v in self.greylisting.items() if k in mine},
                "greylisting_whitelists": {
                    k: v for k, v in self.greylisting_whitelists.items() if k in mine
                },
            }

    # -- sessions and the envelope -----------------------------------------
    @property
    def is_ldap(self) -> bool:
        return self.settings.backend == "LDAP"

    def _absent_in_era(self, relative: str) -> bool:
        """Endpoints the release did not have yet (they answer HTTP 404)."""
        era = ERAS.index(self.settings.era)
        if relative == "/api/domains":
            return era >= ERAS.index("pre-2.8")
        return relative.startswith("/api/greylisting/") and era >= ERAS.index("pre-2.7")

    @property
    def cookie_name(self) -> str:
        return f"iRedAdmin-Pro-{self.settings.backend}"

    def _session_id(self, request: Request) -> str | None:
        for part in request.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name:
                return value
        return None

    def _current_admin(self, request: Request) -> tuple[str, str | None]:
        """(session id to set again, logged-in admin or None)."""
        sid = self._session_id(request)
        now = time.monotonic()
        with self.lock:
            session = self.sessions.get(sid or "")
            if session and now - session["last"] > self.settings.session_idle_seconds:
                del self.sessions[sid or ""]
                session = None
            if session is None:
                return secrets.token_hex(20), None  # a fresh anonymous session
            session["last"] = now
            return sid or "", session["admin"]

    def _with_cookie(self, response: Response, sid: str) -> Response:
        response.headers["Set-Cookie"] = f"{self.cookie_name}={sid}; Path={BASE_PATH}/; HttpOnly"
        return response

    def envelope(self, success: bool, **payload: Any) -> Response:
        """``{"_success": ..., ...}``; ``success``/``msg`` before SQL-2.6.0 (LDAP-2.8.0)."""
        if self.settings.era == "pre-2.6":
            if "_msg" in payload:
                payload["msg"] = payload.pop("_msg")
            return Response.json({"success": success, **payload})
        return Response.json({"_success": success, **payload})

    def failure(self, reason: str) -> Response:
        return self.envelope(False, _msg=reason)

    def ok(self, data: Any) -> Response:
        return self.envelope(True, _data=data)

    def vendor_fault(self, fault: str, request: Request) -> Response | None:
        """The vendor's failure reasons, and ``failure:<any reason>`` (e.g. an exception text)."""
        if fault in VENDOR_FAULTS or fault.startswith("failure:"):
            reason = fault.removeprefix("failure:")
            return self._with_cookie(self.failure(reason), secrets.token_hex(20))
        return None

    def _api(self, handler: Any) -> Any:
        """Wrap a GET handler: API switch, IP allow-list, session, endpoint faults."""

        def serve(request: Request, **groups: str) -> Response:
            s = self.settings
            relative = request.path.removeprefix(BASE_PATH)
            with self.lock:
                self._api_call_count += 1
                if self._api_call_count == s.expire_sessions_after_calls:
                    self.sessions.clear()
            if self._absent_in_era(relative):
                return Response.html(404, "Not Found")
            for prefix, fault in s.endpoint_faults.items():
                if relative.startswith(prefix):
                    return self.vendor_fault(fault, request) or self.generic_fault(
                        fault, lambda: self.failure("UNKNOWN")
                    )
            sid, admin = self._current_admin(request)
            if s.allowed_ips is not None and request.client_ip not in s.allowed_ips:
                return self._with_cookie(self.failure("NOT_AUTHORIZED"), sid)
            if admin is None:
                if any(relative.startswith(p) for p in s.redirect_prefixes):
                    response = Response(
                        303, b"", {"Location": f"{BASE_PATH}/login?msg=LOGIN_REQUIRED"}
                    )
                    return self._with_cookie(response, sid)
                return self._with_cookie(self.failure("LOGIN_REQUIRED"), sid)
            with self.lock:
                response = handler(request, admin=admin, **groups)
            return self._with_cookie(response, sid)

        return serve

    def handle(self, request: Request) -> Response:
        if request.path.startswith(BASE_PATH + "/api/"):
            if not self.settings.api_enabled:
                return Response.html(404, "Not Found")
            if request.path.endswith("/"):
                return Response(303, b"", {"Location": request.path.rstrip("/")})
        return super().handle(request)

    def login_page(self, request: Request) -> Response:
        """The web interface's login form: answered whether the RESTful API is on or off."""
        return Response.html(200, "iRedAdmin-Pro login")

    def login(self, request: Request) -> Response:
        s = self.settings
        form = request.form()
        sid, _ = self._current_admin(request)
        username, password = form.get("username", ""), form.get("password", "")
        if s.allowed_ips is not None and request.client_ip not in s.allowed_ips:
            return self._with_cookie(self.failure("NOT_AUTHORIZED"), sid)
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", username):
            return self._with_cookie(self.failure("INVALID_USERNAME"), sid)
        if not password:
            return self._with_cookie(self.failure("EMPTY_PASSWORD"), sid)
        if s.login_echoes_password:
            encoded = base64.b64encode(password.encode()).decode()
            reason = f"DB error: password={password} (base64 {encoded}): Max retries exceeded"
            return self._with_cookie(self.failure(reason), sid)
        admin = s.admins.get(username)
        if admin is None or not secrets.compare_digest(admin["password"], password):
            return self._with_cookie(self.failure("INVALID_CREDENTIALS"), sid)
        sid = secrets.token_hex(20)
        with self.lock:
            self.sessions[sid] = {"admin": username, "last": time.monotonic()}
        return self._with_cookie(self.envelope(True), sid)

    # -- reads ------------------------------------------------------------
    def _is_global(self, admin: str) -> bool:
        return bool(self.settings.admins[admin]["global"])

    def _may_read(self, admin: str, account: str) -> bool:
        domain = account.rsplit("@", 1)[-1]
        return domain in self.visible_domains(admin)

    def _render(self, row: dict[str, Any]) -> dict[str, Any]:
        """A stored row as the API shows it: no private keys, version differences."""
        out = {k: v for k, v in row.items() if not k.startswith("_")}
        for column in self.settings.dropped_columns:
            out.pop(column, None)
        if self.settings.extra_columns:
            out["mailboxformat"] = "maildir"
            out["enablesogowebmail"] = "y"
        if self.settings.numbers_as_strings:
            out = {
                k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                for k, v in out.items()
            }
        return out

    def _shape(self, kind: str, row: dict[str, Any]) -> dict[str, Any]:
        """A current SQL answer as the configured backend and release would give it."""
        if self.is_ldap:
            return as_ldap(kind, row, self.settings.era)
        return as_old_sql(kind, row, self.settings.era)

    def _shaped(self, kind: str, row: dict[str, Any]) -> Response:
        return self.ok(self._shape(kind, row))

    def get_domains(self, request: Request, admin: str) -> Response:
        """Flags act by presence: ``?name_only=no`` still means names only."""
        rows = [self.domains[d] for d in self.visible_domains(admin)]
        if "disabled_only" in request.query:
            rows = [row for row in rows if not row["active"]]
        if "name_only" in request.query:
            return self.ok([row["domain"] for row in rows])
        return self.ok({row["domain"]: self._shape("domain", self._render(row)) for row in rows})

    def get_domain(self, request: Request, admin: str, domain: str) -> Response:
        if domain not in self.domains:
            return self.failure("INVALID_DOMAIN_NAME")
        if not self._may_read(admin, domain):
            return self.failure("PERMISSION_DENIED")
        row = self.domains[domain]
        return self._shaped(
            "domain_detail",
            {
                **self._render(row),
                "catchall": row["_catchall"],
                "alias_domains": row["_alias_domains"],
                "sbcc_addr": "",
                "rbcc_addr": "",
                "relayhost": row["_relayhost"],
                "num_existing_users": len(self.users[domain]),
                "allocated_quota": sum(u["quota"] for u in self.users[domain].values()),
            },
        )

    def _domain_list(
        self, request: Request, admin: str, domain: str, table: dict[str, Any], kind: str
    ) -> Response:
        """A domain's accounts; ``email_only`` and ``disabled_only`` act by presence."""
        if domain not in self.domains:
            return self.failure("INVALID_DOMAIN_NAME")
        if not self._may_read(admin, domain):
            return self.failure("PERMISSION_DENIED")
        rows = list(table[domain].values())
        if "disabled_only" in request.query:
            rows = [row for row in rows if not row["active"]]
        if "email_only" in request.query:
            return self.ok([row.get("username") or row["address"] for row in rows])
        return self.ok([self._shape(kind, self._render(row)) for row in rows])

    def get_users(self, request: Request, admin: str, domain: str) -> Response:
        response = self._domain_list(request, admin, domain, self.users, "user")
        if self.settings.null_usernames and "email_only" not in request.query:
            body = json.loads(response.body)
            for row in body.get("_data", [])[: self.settings.null_usernames]:
                row["username"] = None
            response = Response.json(body)
        return response

    def get_user(self, request: Request, admin: str, mail: str) -> Response:
        domain = mail.rsplit("@", 1)[-1]
        row = self.users.get(domain, {}).get(mail)
        if row is None:
            return self.failure("NO_SUCH_ACCOUNT")
        if not self._may_read(admin, mail):
            return self.failure("PERMISSION_DENIED")
        out = self._render(row)
        del out["password"]
        imap = row["last_login"]["imap"]
        out["last_login"] = _ts(imap).replace("T", " ") if imap else ""
        out.update(
            aliases=[],
            mailing_aliases=[
                a for a, alias in self.aliases[domain].items() if mail in alias["_members"]
            ],
            mailing_lists=[
                a for a, ml in self.mailing_lists[domain].items() if mail in ml["_subscribers"]
            ],
            forwardings=row["_forwardings"],
            sender_bcc_address="",
            recipient_bcc_address="",
            stored_bytes=row["used_quota"]["bytes"],
            stored_messages=row["used_quota"]["messages"],
        )
        return self._shaped("user_detail", out)

    def get_aliases(self, request: Request, admin: str, domain: str) -> Response:
        return self._domain_list(request, admin, domain, self.aliases, "alias")

    def get_alias(self, request: Request, admin: str, mail: str) -> Response:
        row = self.aliases.get(mail.rsplit("@", 1)[-1], {}).get(mail)
        if row is None:
            return self.failure("NO_SUCH_ACCOUNT")
        if not self._may_read(admin, mail):
            return self.failure("PERMISSION_DENIED")
        return self._shaped(
            "alias_detail",
            {**self._render(row), "members": row["_members"], "moderators": row["_moderators"]},
        )

    def get_mailing_lists(self, request: Request, admin: str, domain: str) -> Response:
        return self._domain_list(request, admin, domain, self.mailing_lists, "mailing_list")

    def _policy_account(self, admin: str, account: str | None) -> str | None:
        """The policy key for a URL, or None when the admin may not read it."""
        if account in (None, "global"):
            return "@." if self._is_global(admin) else None
        if "@" not in account:
            return f"@{account}" if self._may_read(admin, account) else None
        return account if self._may_read(admin, account) else None

    def get_spam_policy(self, request: Request, admin: str, account: str | None = None) -> Response:
        key = self._policy_account(admin, account)
        if key is None:
            return self.failure("PERMISSION_DENIED")
        return self.ok(self.spam_policies.get(key, {}))

    def get_throttle(self, request: Request, admin: str, account: str, direction: str) -> Response:
        key = self._policy_account(admin, account)
        if key is None:
            return self.failure("PERMISSION_DENIED")
        return self.envelope(True, setting=self.throttles.get((key, direction), {}))

    def get_greylisting(self, request: Request, admin: str, account: str) -> Response:
        key = self._policy_account(admin, account)
        if key is None:
            return self.failure("PERMISSION_DENIED")
        return self.ok({"status": self.greylisting.get(key, "inherit")})

    def get_greylisting_all(self, request: Request, admin: str) -> Response:
        if not self._is_global(admin):
            return self.failure("PERMISSION_DENIED")
        return self.ok({k: [{"status": v}] for k, v in self.greylisting.items()})

    def get_whitelists(self, request: Request, admin: str, account: str) -> Response:
        key = self._policy_account(admin, account)
        if key is None:
            return self.failure("PERMISSION_DENIED")
        lists = self.greylisting_whitelists.get(key, {})
        data: dict[str, list[str]] = {"whitelists": list(lists.get("whitelists", []))}
        if key == "@.":
            data["whitelist_domains"] = list(lists.get("whitelist_domains", []))
        return self.ok(data)


# -- other backends and releases ---------------------------------------------
# The stored rows are SQL-shaped (the current release); these turn an answer into what
# the LDAP backend or an older release sends for the same directory. Attribute names
# come from iRedMail's public LDAP schema (iredmail.schema) where it has them; the rest
# is this imitation's guess, the same guess the tap's tap_iredadmin/variants.py makes.
LDAP_SETTING_LIMITS = {
    "mailboxes": "numberOfUsers",
    "aliases": "numberOfAliases",
    "maillists": "numberOfLists",
    "maxquota": "maxUserQuota",
}


def _ldap_time(value: Any) -> str | None:
    """``2023-10-31T09:12:44`` as LDAP generalized time ``20231031091244Z``."""
    if not value:
        return None
    return re.sub(r"\D", "", str(value))[:14] + "Z"


def _ldap_setting(settings: dict[str, Any], era: str) -> Any:
    """``accountSetting``: a dict since LDAP-3.0, ``key:value`` strings before."""
    if era == "current":
        return dict(settings)
    strings = []
    for key, value in settings.items():
        for item in value if isinstance(value, list) else [value]:
            strings.append(f"{key}:{item}")
    return strings


def _yes(value: Any) -> bool:
    return str(value).lower() in ("1", "y", "yes", "true")


def as_ldap(kind: str, row: dict[str, Any], era: str) -> dict[str, Any]:
    """An answer with LDAP attribute names; empty values are absent (LDAP has none)."""
    out: dict[str, Any] = {}
    rest = dict(row)
    take = rest.pop

    def put(name: str, value: Any) -> None:
        if value not in (None, "", []):
            out[name] = value

    if kind in ("domain", "domain_detail"):
        put("domainName", take("domain", None))
        put("cn", take("description", None))
        put("disclaimer", take("disclaimer", None))
        settings = dict(take("settings", None) or {})
        for column, key in LDAP_SETTING_LIMITS.items():
            settings[key] = take(column, None)
        put("accountSetting", _ldap_setting(settings, era))
        put("domainCurrentQuotaSize", take("quota", None))
        put("mtaTransport", take("transport", None))
        put("domainBackupMX", "yes" if _yes(take("backupmx", 0)) else "no")
        if kind == "domain_detail":
            catchall = take("catchall", [])
            if era == "current":
                out["catchall"] = catchall  # new in LDAP-3.0; always present
            put("domainAliasName", take("alias_domains", None))
            put("domainSenderBccAddress", take("sbcc_addr", None))
            put("domainRecipientBccAddress", take("rbcc_addr", None))
            put("senderRelayHost", take("relayhost", None))
            put("domainCurrentUserNumber", take("num_existing_users", None))
    elif kind in ("user", "user_detail"):
        put("mail", take("username", None))
        put("userPassword", take("password", None))
        put("cn", take("name", None))
        put("preferredLanguage", take("language", None))
        quota = take("quota", None)
        put("mailQuota", None if quota is None else int(str(quota)) * 1024 * 1024)
        take("domain", None)  # an entry has no domain attribute: it sits under its domain
        take("rank", None)  # no LDAP counterpart
        put("mtaTransport", take("transport", None))
        put("departmentNumber", take("department", None))
        put("employeeNumber", take("employeeid", None))
        services = ["mail"]
        services += [
            key.removeprefix("enable") for key in list(rest) if key.startswith("enable")
            if _yes(take(key))
        ]  # fmt: skip
        if _yes(take("isadmin", 0)):
            services.append("domainadmin")
        put("enabledService", services)
        if _yes(take("isglobaladmin", 0)):
            out["domainGlobalAdmin"] = "yes"
        put("accountSetting", _ldap_setting(take("settings", None) or {}, era))
        changed = take("passwordlastchange", None)
        if changed:
            day = calendar.timegm(time.strptime(changed, "%Y-%m-%dT%H:%M:%S")) // 86400
            out["shadowLastChange"] = day  # days since 1970, as shadowAccount keeps it
        if kind == "user_detail":
            put("shadowAddress", take("aliases", None))
            put("memberOfGroup", take("mailing_lists", None))
            put("mailForwardingAddress", take("forwardings", None))
            put("userSenderBccAddress", take("sender_bcc_address", None))
            put("userRecipientBccAddress", take("recipient_bcc_address", None))
    elif kind in ("alias", "alias_detail", "mailing_list"):
        put("mail", take("address", None))
        put("cn", take("name", None))
        take("domain", None)
        if kind == "mailing_list":
            take("id", None)  # an SQL row number
            take("is_newsletter", None)  # not an LDAP attribute
            put("description", take("description", None))
            put("accessPolicy", take("accesspolicy", None))
            put("mailingListID", take("mlid", None))
            put("maxMessageSize", take("maxmsgsize", None))
            put("mtaTransport", take("transport", None))
            put("accountSetting", _ldap_setting(take("settings", None) or {}, era))
        else:
            take("accesspolicy", None)  # SQL backends only, says the API document
            put("mailForwardingAddress", take("members", None))
            put("listModerator", take("moderators", None))
    put("createTimestamp", _ldap_time(take("created", None)))
    put("modifyTimestamp", _ldap_time(take("modified", None)))
    put("expiredDate", _ldap_time(take("expired", None)))
    if "active" in rest:
        out["accountStatus"] = "active" if _yes(take("active")) else "disabled"
    return {**out, **rest}


def as_old_sql(kind: str, row: dict[str, Any], era: str) -> dict[str, Any]:
    """An SQL answer of an older release (the renames of the API document's changelog)."""
    out = dict(row)
    index = ERAS.index(era)
    if index >= ERAS.index("pre-2.7"):
        if kind == "user_detail":
            out["forwarding"] = ",".join(out.pop("forwardings"))
        elif kind == "alias_detail":
            out["goto"] = ",".join(out.pop("members"))
            out["islist"] = 0
        elif kind == "domain_detail":
            catchall = out.pop("catchall")
            if catchall:
                out["catchall"] = ",".join(catchall)
    if index >= ERAS.index("pre-2.6"):
        renames = {"name": "cn", "quota": "mailQuota", "language": "preferredLanguage"}
        if kind not in ("user", "user_detail"):
            renames = {"name": "cn"}
        out = {renames.get(key, key): value for key, value in out.items()}
    return out
