"""The iRedAdmin-Pro imitation keeps the contract's quirks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from sandbox.iredadmin import DEMO_ADMIN, DEMO_DOMAIN_ADMIN, DEMO_PASSWORD, IRedAdminSandbox

from sandbox import RunningSandbox


@pytest.fixture
def api(start_sandbox: Callable[..., RunningSandbox]) -> Callable[..., Any]:
    def make(**settings: Any) -> tuple[IRedAdminSandbox, str, requests.Session]:
        sandbox = start_sandbox("iredadmin", **settings)
        return sandbox.app, f"{sandbox.url}/iredadmin/api", requests.Session()  # type: ignore[return-value]

    return make


def login(session: requests.Session, base: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    answer = session.post(f"{base}/login", data={"username": DEMO_ADMIN, "password": password})
    return answer.json()


def test_session_cookie_envelope_and_lost_session(api: Callable[..., Any]) -> None:
    app, base, session = api()
    anonymous = session.get(f"{base}/domains", allow_redirects=False)
    assert anonymous.status_code == 200
    assert anonymous.json() == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    assert "iRedAdmin-Pro-MYSQL" in anonymous.cookies

    assert login(session, base, "wrong") == {"_success": False, "_msg": "INVALID_CREDENTIALS"}
    assert login(session, base) == {"_success": True}
    cookie = session.cookies["iRedAdmin-Pro-MYSQL"]
    assert len(cookie) == 40
    domains = session.get(f"{base}/domains").json()["_data"]
    assert isinstance(domains, dict)
    assert list(domains) == ["example.com", "example.net", "example.org"]

    app.expire_sessions()
    lost = session.get(f"{base}/alias/sales@example.com", allow_redirects=False)
    assert lost.status_code == 303
    assert lost.headers["Location"].endswith("/login?msg=LOGIN_REQUIRED")
    assert session.cookies["iRedAdmin-Pro-MYSQL"] != cookie  # an anonymous one now


def test_shapes_of_the_reads(api: Callable[..., Any]) -> None:
    app, base, session = api()
    login(session, base)
    users = session.get(f"{base}/users/example.com").json()["_data"]
    assert users[0]["password"].startswith("{SSHA512}")
    assert set(users[0]["last_login"]) == {"imap", "pop3", "lda"}
    user = session.get(f"{base}/user/{users[0]['username']}").json()["_data"]
    assert "password" not in user
    assert isinstance(user["last_login"], str)
    aliases = session.get(f"{base}/aliases/example.com").json()["_data"]
    assert "members" not in aliases[0]
    alias = session.get(f"{base}/alias/{aliases[0]['address']}").json()["_data"]
    assert alias["members"]
    throttle = session.get(f"{base}/throttle/global/inbound").json()
    assert throttle["setting"]["account"] == "@."
    assert "_data" not in throttle
    app.set_policy("spam", "@example.org", None)
    assert session.get(f"{base}/spampolicy/domain/example.org").json()["_data"] == {}
    assert session.get(f"{base}/greylisting/global").json()["_data"]["status"] == "enabled"
    slash = session.get(f"{base}/domains/", allow_redirects=False)
    assert slash.status_code == 303


def test_flags_act_by_presence(api: Callable[..., Any]) -> None:
    app, base, session = api()
    login(session, base)
    names = ["example.com", "example.net", "example.org"]
    assert session.get(f"{base}/domains?name_only=no").json()["_data"] == names
    emails = session.get(f"{base}/users/example.org?email_only=no").json()["_data"]
    assert emails == [u for u in app.truth({})["users"] if u.endswith("@example.org")]
    app.update_user(emails[1], active=0)
    disabled = session.get(f"{base}/users/example.org?disabled_only=&email_only").json()
    assert emails[1] in disabled["_data"]
    assert all(not app.users["example.org"][mail]["active"] for mail in disabled["_data"])


def test_api_off_ip_list_and_normal_admin(api: Callable[..., Any]) -> None:
    _, base, session = api(api_enabled=False)
    assert session.get(f"{base}/domains").status_code == 404
    _, base, session = api(allowed_ips=["10.1.1.1"])
    assert login(session, base) == {"_success": False, "_msg": "NOT_AUTHORIZED"}
    app, base, session = api()
    admin = app.settings.admins[DEMO_DOMAIN_ADMIN]
    session.post(
        f"{base}/login", data={"username": DEMO_DOMAIN_ADMIN, "password": admin["password"]}
    )
    assert list(session.get(f"{base}/domains").json()["_data"]) == ["example.net"]
    denied = session.get(f"{base}/spampolicy/global").json()
    assert denied == {"_success": False, "_msg": "PERMISSION_DENIED"}
    assert session.get(f"{base}/users/example.com").json()["_msg"] == "PERMISSION_DENIED"


def test_data_changes_show_in_answers_and_truth(api: Callable[..., Any]) -> None:
    app, base, session = api()
    login(session, base)
    app.delete_user("anna.kowalski@example.com")
    app.add_alias("new@example.com", members=["postmaster@example.com"])
    usernames = [u["username"] for u in session.get(f"{base}/users/example.com").json()["_data"]]
    assert "anna.kowalski@example.com" not in usernames
    assert usernames == [u for u in app.truth({})["users"] if u.endswith("@example.com")]
    assert app.truth({})["aliases"]["new@example.com"]["members"] == ["postmaster@example.com"]


def test_scale_builds_fast() -> None:
    import time

    started = time.perf_counter()
    app = IRedAdminSandbox(domains=50, users_per_domain=1000)
    assert len(app.truth({})["users"]) == 50_000
    assert time.perf_counter() - started < 15


def test_ldap_backend_answers_with_ldap_attribute_names(api: Callable[..., Any]) -> None:
    app, base, session = api(backend="LDAP")
    assert login(session, base) == {"_success": True}
    assert "iRedAdmin-Pro-LDAP" in session.cookies
    domain = session.get(f"{base}/domains").json()["_data"]["example.com"]
    assert domain["domainName"] == "example.com"
    assert domain["accountStatus"] == "active"
    assert isinstance(domain["accountSetting"], dict)
    users = session.get(f"{base}/users/example.com").json()["_data"]
    assert users[0]["userPassword"].startswith("{SSHA512}")
    assert "mail" in users[0]["enabledService"]
    assert users[0]["mailQuota"] == app.users["example.com"][users[0]["mail"]]["quota"] * 2**20
    alias = session.get(f"{base}/alias/sales@example.com").json()["_data"]
    assert (
        alias["mailForwardingAddress"] == app.truth({})["aliases"]["sales@example.com"]["members"]
    )


def test_older_releases_answer_as_the_changelog_says(api: Callable[..., Any]) -> None:
    app, base, session = api(era="pre-2.6")
    assert login(session, base, "wrong") == {"success": False, "msg": "INVALID_CREDENTIALS"}
    assert login(session, base) == {"success": True}
    assert session.get(f"{base}/domains").status_code == 404  # new in SQL-2.8.0
    assert session.get(f"{base}/greylisting/global").status_code == 404  # new in SQL-2.7.0
    alias = session.get(f"{base}/alias/sales@example.com").json()["_data"]
    members = app.truth({})["aliases"]["sales@example.com"]["members"]
    assert alias["goto"] == ",".join(members)
    assert "members" not in alias
    user = session.get(f"{base}/users/example.com").json()["_data"][0]
    assert {"cn", "mailQuota", "preferredLanguage"} <= set(user)
    assert not {"name", "quota", "language"} & set(user)
    _, ldap_base, ldap_session = api(backend="LDAP", era="pre-2.8")
    login(ldap_session, ldap_base)
    domain = ldap_session.get(f"{ldap_base}/domain/example.com").json()["_data"]
    assert all(":" in item for item in domain["accountSetting"])
    assert "catchall" not in domain  # new in LDAP-3.0
