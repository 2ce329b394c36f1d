"""The dashboard's HTTP side: sign-in from a chat link, the session cookie, the pages.

Every page needs a session; what it may open follows the viewer's role now (leaders and
admins the bureau, a secretary or committee member the own branch, a member the own
record). Nothing on a page comes from outside djbot: the Content-Security-Policy says so
to the browser, and the browser tests check the network log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session
from starlette.datastructures import MutableHeaders

from bot.runtime import Runtime
from bot.web import pages, tokens
from storage import dashboard as store
from storage.dashboard import FigureCache
from storage.models import Activity, AuditEntry, Branch, Member

log = logging.getLogger("djbot.web")

HERE = Path(__file__).parent
COOKIE = "djbot_session"
SECURITY_HEADERS = {
    # Only djbot itself: scripts, styles, pictures and fetches from anywhere else are blocked.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # frame-ancestors' older twin, for in-app browsers that predate it.
    "X-Frame-Options": "DENY",
    # The sign-in link carries a token: never hand it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                        autoescape=select_autoescape(["html"]))
templates.filters["pct"] = lambda v: "—" if v is None else f"{v:g}%"
# A score or an average, already rounded, written as 周报 and 红黄蓝榜 write it: 100, 5.5.
templates.filters["num"] = lambda v: "—" if v is None else f"{v:g}"
templates.filters["hm"] = lambda v: "" if v is None else v.strftime("%m-%d %H:%M")


def _described(title: str, labels: list[str], values: list[Any], unit: str) -> str:
    """A chart's figures in words, for its label: of a canvas a screen reader says the
    label alone, and the figures are nowhere else on the page."""
    return title + "：" + "，".join(
        f"{label} {'无活动' if value is None else f'{value:g}{unit}'}"
        for label, value in zip(labels, values))


templates.globals["described"] = _described


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    charts = context.pop("charts", None)
    html = templates.get_template(name).render(
        charts_json=json.dumps(charts, ensure_ascii=False) if charts else None, **context)
    return HTMLResponse(html, status_code=status)


def _refused(status: int, message: str, viewer: pages.Viewer | None = None) -> HTMLResponse:
    """A page that cannot be opened; to someone signed in with the bar of their own pages,
    so a forwarded or stale address is not a dead end."""
    return _page("refused.html", status, viewer=viewer, title="无法打开", message=message)


# Ids are 64-bit integers; one past that in a typed or mangled address overflows the database
# driver (a 500 on SQLite) instead of finding nothing, so it is nothing before it is asked for.
MAX_ID = 2**63 - 1


def _get(session: Session, model: Any, ident: str) -> Any:
    """The row an address names, or None. Ids in addresses are read here rather than by
    FastAPI, whose refusal of a cut or mistyped one (/web/branch/3x) is English JSON."""
    if not (ident.isascii() and ident.isdigit()) or len(ident) > 19:
        return None
    number = int(ident)
    return session.get(model, number) if 1 <= number <= MAX_ID else None


# How long a weekly picture, once drawn, is served as it is.
PICTURE_KEPT = timedelta(minutes=10)
# The longest a session can last: config.WebSettings.session_hours allows no more.
LONGEST_SESSION = timedelta(hours=24)
NO_SESSION = "请在与党建助手的私聊中发送「看板」，点开回复里的链接。"

# ?all=1 lifts a page's list limits: a list cut for length says how many it left out and
# links here, so every row stays one tap away. Read as text, so an odd value shows the
# usual page rather than a validation error.
SHOW_ALL = Query("", alias="all")


def start_session(runtime: Runtime, member_id: int, *, how: str,
                  then: str | None = None) -> Response:
    """Sign a member in: audit it, set the session cookie, go to their page (or `then`)."""
    settings = runtime.settings.web
    now = runtime.clock.now()
    with Session(runtime.engine) as session:
        who = pages.viewer_of(session, member_id)
        if who is None:
            return _refused(403, "你不在党员名册中，无法打开看板。")
        session.add(AuditEntry(at=now, actor_id=who.member_id, actor=who.name,
                               action="web.login", target=who.home, detail={"by": how}))
        session.commit()
    cookie = tokens.sign(settings.secret, tokens.SESSION, {"m": who.member_id},
                         expires=now + timedelta(hours=settings.session_hours))
    target = then if then and then.startswith("/web/") else who.home
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, cookie, max_age=settings.session_hours * 3600, path="/web",
                        httponly=True, samesite="lax",
                        secure=settings.base_url.startswith("https://"))
    return response


def mount(app: FastAPI, runtime: Runtime) -> None:
    """Adds /web/… when the dashboard has a secret; without one it answers 404 as before."""
    settings = runtime.settings.web
    if not settings.enabled:
        return
    router = APIRouter(prefix="/web")
    cache = FigureCache()  # this process's running totals; exact, see storage/dashboard.py

    def signed_in(request: Request) -> dict[str, Any] | None:
        """The session cookie's claims: the member ("m") and the session's id ("n")."""
        claims = tokens.verify(settings.secret, tokens.SESSION, request.cookies.get(COOKIE),
                               now=runtime.clock.now())
        if claims is None or not isinstance(claims.get("m"), int) \
                or not isinstance(claims.get("n"), str):
            return None
        return claims

    def viewer(request: Request, session: Session) -> pages.Viewer | None:
        claims = signed_in(request)
        if claims is None:
            return None
        # Signed out of (退出) is on record from the session's start at the latest: its
        # expiry less the longest a session lasts (SESSION_HOURS, whatever it was then).
        began = datetime.fromtimestamp(claims["exp"], timezone.utc) - LONGEST_SESSION
        if store.session_ended(session, session_id=claims["n"], since=began):
            return None
        who = pages.viewer_of(session, claims["m"])
        return None if who is None else replace(
            who, csrf=tokens.csrf_of(settings.secret, claims["n"]))

    wecom_oauth = None
    wecom = runtime.settings.wecom
    if settings.wecom_oauth and wecom.corp_id and wecom.app_secret:
        from bot.web.oauth import WecomOAuth

        wecom_oauth = WecomOAuth(runtime)
        app.state.services.append(wecom_oauth)  # closes its HTTP client at shutdown
        router.add_api_route("/oauth/wecom", wecom_oauth.callback, methods=["GET"])

    dingtalk_oauth = None
    dingtalk = runtime.settings.dingtalk
    if settings.dingtalk_oauth and dingtalk.app_key and dingtalk.app_secret:
        from bot.web.oauth import DingtalkOAuth

        dingtalk_oauth = DingtalkOAuth(runtime)
        app.state.services.append(dingtalk_oauth)
        router.add_api_route("/oauth/dingtalk", dingtalk_oauth.callback, methods=["GET"])

    def no_session(request: Request) -> Response:
        """Inside WeCom's or DingTalk's browser with its sign-in set up, sign in there
        (their User-Agents say "wxwork" and "DingTalk"); else say how to get a link."""
        agent = request.headers.get("user-agent", "").lower()
        # Back to the page asked for as it was asked (a 显示全部 link's ?all=1 included);
        # the state that carries it is signed, and start_session keeps it under /web/.
        then = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if wecom_oauth is not None and "wxwork" in agent:
            return wecom_oauth.redirect(request, then)
        if dingtalk_oauth is not None and "dingtalk" in agent:
            return dingtalk_oauth.redirect(request, then)
        return _refused(401, NO_SESSION)

    @router.get("/login")
    def login(t: str = "") -> Response:
        now = runtime.clock.now()
        claims = tokens.verify(settings.secret, tokens.LINK, t, now=now)
        if claims is None or not isinstance(claims.get("m"), int):
            return _refused(403, "链接无效或已过期。" + NO_SESSION)
        return start_session(runtime, claims["m"], how="link")

    @router.get("/logout")
    def logout_asked(request: Request) -> Response:
        """A link or picture elsewhere must not sign anyone out: a GET only offers the button."""
        with Session(runtime.engine) as session:
            who = viewer(request, session)
        if who is None:
            return _page("refused.html", title="已退出", message="已退出看板。" + NO_SESSION)
        return _page("refused.html", viewer=who, title="退出看板",
                     message="点右上角的「退出」结束本次登录。")

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """退出: the session ends here and on every copy of its cookie, not only this one."""
        claims = signed_in(request)
        response = _page("refused.html", title="已退出", message="已退出看板。" + NO_SESSION)
        if claims is None:
            # No session came with it: nothing to end, and no cookie to delete. A form
            # posted from another site comes without the cookie (SameSite=Lax), yet the
            # browser would apply a deletion in the answer: any site could sign one out.
            return response
        body = (await request.body())[:4096].decode("utf-8", "replace")
        if not tokens.csrf_valid(settings.secret, claims["n"],
                                 dict(parse_qsl(body)).get("csrf")):
            return _refused(403, "请点看板页面右上角的「退出」。")
        await asyncio.to_thread(end_session, claims)
        response.delete_cookie(COOKIE, path="/web", httponly=True, samesite="lax",
                               secure=settings.base_url.startswith("https://"))
        return response

    def end_session(claims: dict[str, Any]) -> None:
        with Session(runtime.engine) as session:
            who = pages.viewer_of(session, claims["m"])
            if who is None:  # off the roster: the session opens nothing already
                return
            store.end_session(session, session_id=claims["n"], member_id=who.member_id,
                              name=who.name, now=runtime.clock.now())
            session.commit()

    @router.get("/")
    def bureau(request: Request) -> Response:
        with Session(runtime.engine) as session:
            who = viewer(request, session)
            if who is None:
                return no_session(request)
            if not who.bureau:
                return RedirectResponse(who.home, status_code=303)
            data = pages.bureau_page(session, now=runtime.clock.now(),
                                     settings=runtime.settings, rules=runtime.rules,
                                     cache=cache)
        charts = {
            "trend": {"kind": "line", "labels": data["week_labels"], "min": 0, "max": 100,
                      "unit": "%", "series": [{"name": "参与率", "data": data["trend"]}]},
            "year": {"kind": "bar", "labels": data["month_labels"], "min": 0, "max": 100,
                     "unit": "%", "series": [{"name": "参与率", "data": data["by_month"]}]},
        }
        return _page("bureau.html", viewer=who, charts=charts, **data)

    @router.get("/branch/{branch_id}")
    def branch(branch_id: str, request: Request, show_all: str = SHOW_ALL) -> Response:
        with Session(runtime.engine) as session:
            who = viewer(request, session)
            if who is None:
                return no_session(request)
            found = _get(session, Branch, branch_id)
            if found is None:  # a mangled address, for anyone (no 你只能查看本支部 to a 书记)
                return _refused(404, "没有这个支部。", who)
            if not who.may_see_branch(found.id):
                return _refused(403, "你只能查看本支部的看板。", who)
            data = pages.branch_page(session, branch=found, now=runtime.clock.now(),
                                     settings=runtime.settings, cache=cache,
                                     show_all=show_all == "1")
        charts = {"trend": {"kind": "line", "labels": data["week_labels"], "min": 0, "max": 100,
                            "unit": "%", "series": [{"name": "参与率", "data": data["trend"]}]}}
        return _page("branch.html", viewer=who, charts=charts, **data)

    @router.get("/activity/{activity_id}")
    def activity(activity_id: str, request: Request) -> Response:
        with Session(runtime.engine) as session:
            who = viewer(request, session)
            if who is None:
                return no_session(request)
            found = _get(session, Activity, activity_id)
            if found is None:
                return _refused(404, "没有这次活动。", who)
            allowed = who.bureau if found.branch_id is None else who.may_see_branch(found.branch_id)
            if not allowed:
                return _refused(403, "你只能查看本支部活动的签到表。", who)
            data = pages.activity_page(session, activity=found, settings=runtime.settings,
                                       now=runtime.clock.now())
        return _page("activity.html", viewer=who, **data)

    @router.get("/member/{member_id}")
    def member(member_id: str, request: Request, show_all: str = SHOW_ALL) -> Response:
        with Session(runtime.engine) as session:
            who = viewer(request, session)
            if who is None:
                return no_session(request)
            found = _get(session, Member, member_id)
            if found is None or found.forgotten:
                return _refused(404, "没有这位党员。", who)
            if not who.may_see_member(found):
                return _refused(403, "你只能查看自己的积分记录。", who)
            data = pages.member_page(session, member=found, now=runtime.clock.now(),
                                     settings=runtime.settings, show_all=show_all == "1")
        charts = {"weekly": {"kind": "bar", "labels": data["week_labels"],
                             "unit": " 分", "series": [{"name": "积分", "data": data["weekly"]}]}}
        return _page("member.html", viewer=who, charts=charts, **data)

    drawn: dict[str, tuple[datetime, bytes]] = {}  # week → when drawn, the PNG

    @router.get("/picture/{token}.png")
    def picture(token: str) -> Response:
        from bot.web import push

        now = runtime.clock.now()
        claims = tokens.verify(settings.secret, tokens.PICTURE, token, now=now)
        if claims is None or not isinstance(claims.get("w"), str):
            return Response("链接无效或已过期", status_code=403, media_type="text/plain")
        # Drawn once a while, not on every fetch: the link is in a group for a week, and
        # each drawing costs a core a large part of a second (anyone holding the link
        # could keep the server busy). A correction since shows within PICTURE_KEPT.
        week = claims["w"]
        kept = drawn.get(week)
        if kept is not None and kept[0] > now - PICTURE_KEPT:
            png = kept[1]
        else:
            for stale in [w for w, (at, _) in list(drawn.items()) if at <= now - PICTURE_KEPT]:
                drawn.pop(stale, None)  # (another request's thread may have taken it)
            png = push.picture_for_week(runtime, week)
            if png is not None:  # one not drawn is tried again, not kept
                drawn[week] = (now, png)
        if png is None:
            return Response("图片不可用", status_code=404, media_type="text/plain")
        return Response(png, media_type="image/png", headers={
            "Cache-Control": f"private, max-age={int(PICTURE_KEPT.total_seconds())}"})

    @router.get("/{anything:path}")
    def no_such_page(anything: str) -> Response:
        return _refused(404, "没有这个页面。" + NO_SESSION)

    app.add_middleware(_Guarded)
    app.state.services.append(_Warmer(runtime, cache))
    # The files first: the router's last route answers every other address under /web/.
    app.mount("/web/static", StaticFiles(directory=HERE / "static"), name="web-static")
    app.include_router(router)


class _Guarded:
    """Every answer under /web/ with the pages' headers, not only the pages: the scripts,
    the picture, a missing file, a wrong method, a server error. Shared files (/web/static/)
    may be kept by the browser; anything else that does not say otherwise is never kept.
    An ASGI wrapper that lets every other path through untouched (the callbacks' hot path)."""

    SHARED = {k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"}

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/web/"):
            await self.app(scope, receive, send)
            return
        wanted = self.SHARED if path.startswith("/web/static/") else SECURITY_HEADERS

        async def guarded(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])  # optional in ASGI
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, guarded)


class _Warmer:
    """Counts the year once when the service starts, so the first leader to open the
    bureau page does not wait for it (seconds on a big bureau; every view after is quick)."""

    def __init__(self, runtime: Runtime, cache: FigureCache) -> None:
        self.runtime = runtime
        self.cache = cache
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(asyncio.to_thread(self._warm))

    def _warm(self) -> None:
        try:
            with Session(self.runtime.engine) as session:
                pages.bureau_page(session, now=self.runtime.clock.now(),
                                  settings=self.runtime.settings, rules=self.runtime.rules,
                                  cache=self.cache)
        except Exception:  # noqa: BLE001 - a cold cache is slower, not wrong
            log.warning("dashboard warm-up failed; the first page view counts instead",
                        exc_info=True)

    async def stop(self) -> None:
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), timeout=10)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                pass
