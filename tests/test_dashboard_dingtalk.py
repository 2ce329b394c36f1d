"""看板 inside DingTalk without a link: DingTalk's OAuth2 web login against the fake.

The browser is sent (a top-level redirect, no script) to DingTalk's login page, comes back
with a one-time authCode, and djbot asks DingTalk whose it is: userAccessToken, then
contact/users/me for the unionId, then topapi/user/getbyunionid for the userid.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.app import create_app
from bot.config import DingtalkSettings, Settings, WebSettings
from storage.models import Activity, AuditEntry, Member
from tests.dashboard_history import build_history, demo_bureau
from tests.fake_dingtalk import FakeDingtalk
from tests.test_dashboard import SECRET, branch_id, sign_in

BASE = "https://djbot.example.gov.cn"
# DingTalk's in-app browser names itself in the User-Agent.
IN_DINGTALK = {"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
                             "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
                             "AliApp(DingTalk/7.6.0) com.laiwang.DingTalk/36512345 Channel/201200"}


@pytest.fixture
def fake():
    with FakeDingtalk() as server:
        yield server


def ding_settings(db_url, fake, *, on: bool = True) -> Settings:
    return Settings(
        database_url=db_url, _env_file=None,
        dingtalk=DingtalkSettings(app_key=fake.app_key, app_secret=fake.app_secret,
                                  api_base=fake.base_url, oapi_base=fake.base_url),
        web=WebSettings(secret=SECRET, base_url=BASE, dingtalk_oauth=on,
                        dingtalk_login_base=fake.base_url))


@pytest.fixture
def settings(db_url, fake) -> Settings:
    return ding_settings(db_url, fake)


@pytest.fixture
def history() -> bool:
    """Asked for by the tests that open activity sheets: weeks of branch life first."""
    return True


@pytest.fixture
def bureau(request, runtime, clock):
    if "history" in request.fixturenames:
        build_history(runtime, clock, weeks=2)
    else:
        demo_bureau(runtime)  # the roster is all sign-in needs
    return runtime


@pytest.fixture
def client(bureau):
    with TestClient(create_app(bureau, start_background=False), base_url="https://testserver") as c:
        yield c


def authorize(client, path: str = "/web/") -> dict[str, str]:
    """Open a page in DingTalk's browser without a session: where it is sent."""
    away = client.get(path, headers=IN_DINGTALK, follow_redirects=False)
    assert away.status_code == 302, away.text
    target = urlsplit(away.headers["location"])
    assert target.path == "/oauth2/auth"
    return {k: v[0] for k, v in parse_qs(target.query).items()}


def logins(runtime) -> list[AuditEntry]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(AuditEntry).where(AuditEntry.action == "web.login")))


def test_inside_dingtalk_the_dashboard_signs_in_through_dingtalks_login(client, bureau, fake):
    """The whole round trip: authorize URL, authCode back, three calls to DingTalk, the
    same session and audit line as the link from 看板."""
    assert client.get("/web/").status_code == 401  # an ordinary browser: send 看板
    query = authorize(client)
    assert query["client_id"] == fake.app_key and query["response_type"] == "code"
    assert query["scope"] == "openid" and query["prompt"] == "consent"
    assert query["redirect_uri"] == f"{BASE}/web/oauth/dingtalk"
    code = fake.sign_in("ding-cg03")  # 张伟, a member of 城关派出所党支部
    back = client.get("/web/oauth/dingtalk",
                      params={"authCode": code, "state": query["state"]}, follow_redirects=False)
    assert back.status_code == 303
    assert "httponly" in back.headers["set-cookie"].lower()
    assert "secure" in back.headers["set-cookie"].lower()
    assert back.headers["location"] == "/web/"  # the page asked for …
    page = client.get("/web/")  # … which, for a member, is the own record
    assert re.fullmatch(r"/web/member/\d+", page.url.path)
    assert page.status_code == 200 and "张伟" in page.text
    assert client.get(f"/web/branch/{branch_id(bureau, '城关派出所党支部')}").status_code == 403
    [login] = logins(bureau)
    assert login.actor == "张伟" and login.detail == {"by": "dingtalk-oauth"}
    # What DingTalk saw: the code exchanged with the app's credentials, the user token on
    # contact/users/me, the app's token (not the user's) on getbyunionid.
    [exchange] = fake.posts("/v1.0/oauth2/userAccessToken")
    assert exchange.body == {"clientId": fake.app_key, "clientSecret": fake.app_secret,
                             "code": code, "grantType": "authorization_code"}
    [me_call] = fake.posts("/v1.0/contact/users/me")
    assert me_call.headers["x-acs-dingtalk-access-token"].startswith("utok-")
    [lookup] = fake.posts("/topapi/user/getbyunionid")
    assert lookup.body == {"unionid": "union-ding-cg03"}
    assert lookup.query["access_token"] in fake.valid_tokens


def test_a_secretary_comes_back_to_the_page_asked_for_and_sees_no_more(history, client, bureau,
                                                                       fake):
    g1 = branch_id(bureau, "城关派出所党支部")
    with Session(bureau.engine) as s:
        sheet = s.exec(select(Activity.id).where(Activity.branch_id == g1)).first()
    query = authorize(client, f"/web/activity/{sheet}")
    back = client.get("/web/oauth/dingtalk", params={"authCode": fake.sign_in("ding-cg01"),
                                                     "state": query["state"]},
                      follow_redirects=False)
    assert back.headers["location"] == f"/web/activity/{sheet}"
    assert client.get(back.headers["location"]).status_code == 200
    assert client.get("/web/", follow_redirects=False).headers["location"] == f"/web/branch/{g1}"


def refused(client, params) -> str:
    answer = client.get("/web/oauth/dingtalk", params=params, follow_redirects=False)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    assert "djbot_session" not in answer.cookies
    assert "set-cookie" not in answer.headers
    return answer.text


def test_a_missing_altered_expired_or_wecom_state_signs_nobody_in(client, bureau, fake, clock):
    state = authorize(client)["state"]
    assert "登录已过期或无效" in refused(client, {"authCode": fake.sign_in("ding-cg03")})
    body, mac = state.split(".")
    altered = f"{body}.{mac[:-2]}{'AA' if not mac.endswith('AA') else 'BB'}"
    assert "登录已过期或无效" in refused(client, {"authCode": fake.sign_in("ding-cg03"),
                                            "state": altered})
    # A state typed or mangled into other characters is as invalid, not a server error.
    assert "登录已过期或无效" in refused(client, {"authCode": fake.sign_in("ding-cg03"),
                                            "state": "é.é"})
    # A state made for WeCom's 网页授权 is another purpose: not accepted here.
    from bot.web import oauth, tokens
    wecom_state = tokens.sign(SECRET, oauth.OAUTH, {"p": "/web/"},
                              expires=clock.now() + timedelta(minutes=5))
    assert "登录已过期或无效" in refused(client, {"authCode": fake.sign_in("ding-cg03"),
                                            "state": wecom_state})
    clock.set(clock.now() + timedelta(minutes=6))
    assert "登录已过期或无效" in refused(client, {"authCode": fake.sign_in("ding-cg03"),
                                            "state": state})
    assert fake.posts("/v1.0/oauth2/userAccessToken") == []  # DingTalk was never asked
    assert logins(bureau) == []


def test_an_unknown_or_spent_code_signs_nobody_in(client, bureau, fake):
    state = authorize(client)["state"]
    assert "钉钉没有给出授权码" in refused(client, {"state": state})
    assert "钉钉未能确认你的身份" in refused(client, {"authCode": "auth-forged", "state": state})
    code = fake.sign_in("ding-cg03")
    assert client.get("/web/oauth/dingtalk", params={"authCode": code, "state": state},
                      follow_redirects=False).status_code == 303
    client.cookies.clear()
    state = authorize(client)["state"]  # the first state's binding is spent with its sign-in
    assert "钉钉未能确认你的身份" in refused(client, {"authCode": code, "state": state})
    [only] = logins(bureau)
    assert only.actor == "张伟"


def test_someone_outside_the_organisation_or_the_roster_is_refused(client, bureau, fake):
    state = authorize(client)["state"]
    # A DingTalk account of another organisation: getbyunionid says 60121.
    assert "不是本单位钉钉组织的成员" in refused(client, {"authCode": fake.sign_in(None),
                                                  "state": state})
    # In the organisation's directory but not on the party roster.
    assert "不在党员名册中" in refused(client, {"authCode": fake.sign_in("ding-driver01"),
                                          "state": state})
    # On the roster once, now left (inactive): the same refusal.
    with Session(bureau.engine) as s:
        member = s.exec(select(Member).where(Member.name == "张伟")).one()
        member.active = False
        s.add(member)
        s.commit()
    assert "不在党员名册中" in refused(client, {"authCode": fake.sign_in("ding-cg03"),
                                          "state": state})
    assert logins(bureau) == []


def test_without_the_contact_permission_the_page_says_so_and_the_log_names_it(
        client, bureau, fake, caplog):
    fake.user_scope_granted = False
    state = authorize(client)["state"]
    with caplog.at_level("WARNING", logger="djbot.web.oauth"):
        assert "钉钉未能确认你的身份" in refused(client, {"authCode": fake.sign_in("ding-cg03"),
                                                  "state": state})
    assert "Contact.User.Read" in caplog.text
    assert "utok-" not in caplog.text and "auth-" not in caplog.text  # no token or code logged


def test_without_the_member_permission_the_log_names_it(client, bureau, fake, caplog):
    fake.member_scope_granted = False
    state = authorize(client)["state"]
    with caplog.at_level("WARNING", logger="djbot.web.oauth"):
        assert "钉钉未能确认你的身份" in refused(client, {"authCode": fake.sign_in("ding-cg03"),
                                                  "state": state})
    assert "qyapi_get_member" in caplog.text
    assert logins(bureau) == []


def test_an_expired_app_token_is_renewed_once(client, bureau, fake):
    state = authorize(client)["state"]
    assert client.get("/web/oauth/dingtalk", params={"authCode": fake.sign_in("ding-cg03"),
                                                     "state": state},
                      follow_redirects=False).status_code == 303
    fake.expire_tokens()
    client.cookies.clear()
    state = authorize(client)["state"]
    back = client.get("/web/oauth/dingtalk", params={"authCode": fake.sign_in("ding-cg01"),
                                                     "state": state}, follow_redirects=False)
    assert back.status_code == 303
    answers = [r.errcode for r in fake.posts("/topapi/user/getbyunionid")]
    assert answers == [0, 40014, 0]


def test_when_dingtalk_is_down_the_page_says_try_later(client, bureau, fake):
    fake.fail("/v1.0/oauth2/userAccessToken", status=503)
    state = authorize(client)["state"]
    answer = client.get("/web/oauth/dingtalk", params={"authCode": fake.sign_in("ding-cg03"),
                                                       "state": state}, follow_redirects=False)
    assert answer.status_code == 503 and "稍后" in answer.text
    assert "set-cookie" not in answer.headers


def test_off_unless_the_operator_turns_it_on(bureau, db_url, fake):
    bureau.settings = ding_settings(db_url, fake, on=False)
    with TestClient(create_app(bureau, start_background=False), base_url="https://testserver") as c:
        assert c.get("/web/", headers=IN_DINGTALK, follow_redirects=False).status_code == 401
        assert c.get("/web/oauth/dingtalk", params={"authCode": "x", "state": "y"}
                     ).status_code == 404
    assert fake.received == []


def test_no_page_of_djbot_references_an_outside_script(history, client, bureau, fake):
    """The sign-in is a redirect, not DingTalk's JSAPI: no page, signed in or refused,
    names anything outside djbot, and the templates and djbot's own script name no URL."""
    pages = [client.get("/web/"), client.get("/web/logout")]
    state = authorize(client)["state"]
    pages.append(client.get("/web/oauth/dingtalk", params={"authCode": "nope", "state": state}))
    sign_in(client, bureau, "ld01")
    g3 = branch_id(bureau, "刑侦大队党支部")
    with Session(bureau.engine) as s:
        sheet = s.exec(select(Activity.id).where(Activity.branch_id == g3)).first()
        member = s.exec(select(Member.id).where(Member.name == "张伟")).one()
    pages += [client.get("/web/"), client.get(f"/web/branch/{g3}"),
              client.get(f"/web/activity/{sheet}"), client.get(f"/web/member/{member}")]
    assert [p.status_code for p in pages][3:] == [200, 200, 200, 200]
    for page in pages:
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for url in re.findall(r'(?:src|href|action)\s*=\s*"([^"]*)"', page.text):
            assert url.startswith("/web/") or url.startswith("data:"), url
        assert not re.search(r"(?i)dingtalk|alicdn|https?://", page.text), page.url
    web = Path(__file__).resolve().parents[1] / "bot" / "web"
    for own in [*web.glob("templates/*.html"), *web.glob("static/*.js"),
                *web.glob("static/*.css")]:
        assert not re.search(r"https?://|//[a-z0-9.-]+\.(?:com|cn|net)", own.read_text()), own


def test_doctor_names_the_redirect_url_to_register_or_what_is_missing(fake):
    from bot.web import doctor

    lines = doctor.run(ding_settings("sqlite://", fake))
    assert (True, f"钉钉内免登录已开启：钉钉应用「登录与分享」的重定向URL应为 {BASE}/web/oauth/dingtalk") \
        in lines
    half = Settings(_env_file=None, web=WebSettings(secret=SECRET, base_url=BASE,
                                                    dingtalk_oauth=True))
    assert any(not ok and "DJBOT_DINGTALK__APP_KEY" in line for ok, line in doctor.run(half))


def test_a_sign_in_begun_in_another_browser_does_not_sign_this_one_in(bureau, fake):
    """Login CSRF: an outsider starts DingTalk's sign-in in their own browser, signs in as
    themselves, and sends the way back (authCode and state) as a link; whoever opens it
    must not be signed in as the outsider, seeing the outsider's record as their own."""
    app = create_app(bureau, start_background=False)
    with TestClient(app, base_url="https://testserver") as outsider, \
            TestClient(app, base_url="https://testserver") as victim:
        state = authorize(outsider)["state"]
        trap = {"authCode": fake.sign_in("ding-cg03"), "state": state}
        answer = victim.get("/web/oauth/dingtalk", params=trap, follow_redirects=False)
        assert answer.status_code == 403 and "请重新打开看板" in answer.text
        assert "djbot_session" not in answer.cookies
        assert logins(bureau) == []
        # The browser that began it comes back signed in, and its binding is used up.
        back = outsider.get("/web/oauth/dingtalk",
                            params={"authCode": fake.sign_in("ding-cg03"), "state": state},
                            follow_redirects=False)
        assert back.status_code == 303 and back.cookies.get("djbot_session")
