"""A fake WeCom on 127.0.0.1: a real HTTP and WebSocket server for the adapter's tests.

It issues access tokens, answers message/send, webhook/send and the AI bot's
response_url, serves the long connection, records everything it received, and can be
told to fail the next calls (expired token, 45009, 60020, -1, HTTP 500, slow).

It refuses what WeCom refuses, with WeCom's own error codes; each rule names the page
(developer.work.weixin.qq.com/document/path/N) or SDK file it comes from. A rule whose
exact errcode no source gives says UNCONFIRMED beside it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

CORP_ID = "ww-fake-corp"
APP_SECRET = "fake-app-secret"
BOT_ID = "fake-bot"
BOT_SECRET = "fake-bot-secret"
AGENT_ID = 1000002

# Byte limits, counted in UTF-8 (path/90236 message/send; path/91770 webhook; path/101031
# stream reply; path/101463 long connection, which carries the same stream body).
APP_TEXT_LIMIT = 2048  # message/send text.content: "超过将截断" (longer text is cut)
APP_MARKDOWN_LIMIT = 2048  # message/send markdown.content
WEBHOOK_TEXT_LIMIT = 2048
WEBHOOK_MARKDOWN_LIMIT = 4096
STREAM_LIMIT = 20480
WEBHOOK_PER_MINUTE = 20  # path/91770: "每个机器人发送的消息不能超过20条/分钟"
APP_MSGTYPES = {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews",
                "markdown", "miniprogram_notice", "template_card"}  # path/90236
WEBHOOK_MSGTYPES = {"text", "markdown", "markdown_v2", "image", "news", "file", "voice",
                    "template_card"}  # path/91770


@dataclass
class Received:
    path: str
    params: dict[str, str]
    body: Any
    truncated: bool = False
    # Accepted (errcode 0) but never shown: a duplicate WeCom's duplicate check held back.
    dropped: bool = False


@dataclass
class FakeWecom:
    received: list[Received] = field(default_factory=list)
    ws_frames: list[dict] = field(default_factory=list)
    tokens_issued: int = 0
    slow_seconds: float = 2.0
    # Pending failures: (path suffix, kind), each consumed by the next matching call.
    failures: deque = field(default_factory=deque)
    _valid_tokens: set = field(default_factory=set)
    _expired_tokens: set = field(default_factory=set)
    # Userids the directory knows; None means everyone (path/90236: unknown → invaliduser).
    users: set | None = None
    # response_url codes already used (path/101138: "仅可调用一次").
    _used_response_codes: set = field(default_factory=set)
    # message/send request JSON → when it was last shown (time.monotonic()), for the
    # duplicate check (path/90236: with enable_duplicate_check, "同样内容（请求json）的消息"
    # within duplicate_check_interval is not received again; its errcode is UNCONFIRMED,
    # 0 here, as the docs call it no error).
    _app_shown: dict = field(default_factory=dict)
    # webhook key → send times (time.monotonic()), for the 20-a-minute rule.
    _webhook_sends: dict = field(default_factory=dict)
    # Long connection: bot_id → the socket subscribed for it (one per bot, path/101463).
    _subscribed: dict = field(default_factory=dict)
    # req_ids of callbacks pushed to a client and not yet answered.
    _open_callbacks: set = field(default_factory=set)
    answered_callbacks: list = field(default_factory=list)
    # Sockets that have been told disconnected_event (kicked out by a newer connection).
    kicked: int = 0
    # Swallow this many ping acks (a lost heartbeat), and refuse this many subscribes.
    drop_pings: int = 0
    refuse_subscribes: int = 0
    # Chats the AI bot is not in (removed from the group, or a chatid from elsewhere), and
    # how many aibot_send_msg acks to swallow (WeCom silent: the SDK times out after 5 s).
    unreachable_chats: set = field(default_factory=set)
    drop_send_acks: int = 0
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    _sockets: list = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    # --- switches -----------------------------------------------------------------

    def fail(self, path: str, kind: str, times: int = 1, *, after: int = 0) -> None:
        """Make the next `times` calls to a path (e.g. "message/send") fail with `kind`:
        "expired" (42001), "45009", "45033", "60020", "-1", "40001", "500" or "slow"; with
        `after`, that many calls succeed first."""
        for _ in range(after):
            self.failures.append((path, "ok"))
        for _ in range(times):
            self.failures.append((path, kind))

    def expire_tokens(self) -> None:
        """WeCom ends every token issued so far early (each then answers 42001)."""
        self._expired_tokens |= self._valid_tokens
        self._valid_tokens.clear()

    def calls(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path.endswith(path)]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    # --- handlers -----------------------------------------------------------------

    async def _failure(self, path: str) -> Response | None:
        for item in list(self.failures):
            if path.endswith(item[0]):
                self.failures.remove(item)
                kind = item[1]
                if kind == "ok":
                    return None
                if kind == "500":
                    return Response("boom", status_code=500)
                if kind == "slow":
                    await asyncio.sleep(self.slow_seconds)
                    return None
                if kind == "expired":
                    self.expire_tokens()
                    return None
                # 45033: too many calls of one API at once (the errmsg WeCom gives, quoted
                # in developers.weixin.qq.com community threads; the global errcode list
                # names it 接口并发调用超过限制).
                messages = {"45009": "api freq out of limit", "60020": "not allow to access "
                            "from your ip", "-1": "system busy", "40001": "invalid credential",
                            "45033": "api concurrent out of limit"}
                return JSONResponse({"errcode": int(kind), "errmsg": messages.get(kind, kind)})
        return None

    async def _record(self, request: Request) -> Received:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        entry = Received(request.url.path, dict(request.query_params), body)
        self.received.append(entry)
        return entry

    async def gettoken(self, request: Request) -> Response:
        await self._record(request)
        failed = await self._failure("gettoken")
        if failed is not None:
            return failed
        q = request.query_params
        # path/91039 and the global errcode list (path/90313): a wrong corpid is 40013,
        # a wrong secret 40001.
        if q.get("corpid") != CORP_ID:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid corpid"})
        if q.get("corpsecret") != APP_SECRET:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        self.tokens_issued += 1
        token = f"token-{next(self._seq)}"
        self._valid_tokens.add(token)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": token,
                             "expires_in": 7200})

    async def message_send(self, request: Request) -> Response:
        entry = await self._record(request)
        failed = await self._failure("message/send")
        if failed is not None:
            return failed
        token_problem = self._token_problem(entry.params.get("access_token"))
        if token_problem is not None:
            return token_problem
        body = entry.body if isinstance(entry.body, dict) else {}
        # path/90236: agentid must be the app's, msgtype one of the documented ones.
        if body.get("agentid") != AGENT_ID:
            return JSONResponse({"errcode": 40056, "errmsg": "invalid agentid"})
        msgtype = body.get("msgtype")
        if msgtype not in APP_MSGTYPES or not isinstance(body.get(msgtype), dict):
            return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
        content = str(body[msgtype].get("content") or "")
        if msgtype == "markdown" and len(content.encode()) > APP_MARKDOWN_LIMIT:
            # path/90236: markdown "最长不超过2048个字节"; over it WeCom refuses the
            # call with 40058 (a parameter out of range, path/90313).
            return JSONResponse({"errcode": 40058, "errmsg": "markdown.content exceed max length"})
        if msgtype == "text" and len(content.encode()) > APP_TEXT_LIMIT:
            # path/90236: text "超过将截断" — accepted, but the member reads a cut message.
            cut = content.encode()[:APP_TEXT_LIMIT].decode("utf-8", errors="ignore")
            entry.body = {**body, "text": {**body["text"], "content": cut}}
            entry.truncated = True
        users = [u for u in str(body.get("touser") or "").split("|") if u]
        invalid = [u for u in users if self.users is not None and u not in self.users]
        if users and len(invalid) == len(users):
            # path/90236 and path/90313: 81013 "user & party & tag all invalid".
            return JSONResponse({"errcode": 81013, "errmsg": "user & party & tag all invalid"})
        if body.get("enable_duplicate_check") == 1:
            same = json.dumps(body, sort_keys=True, ensure_ascii=False)
            now = time.monotonic()
            shown = self._app_shown.get(same)
            if shown is not None and now - shown < int(body.get("duplicate_check_interval")
                                                       or 1800):
                entry.dropped = True
            else:
                self._app_shown[same] = now
        return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid)})

    def _token_problem(self, token: str | None) -> Response | None:
        """path/90313: 42001 for a token that has expired, 40014 for one never issued."""
        if token in self._valid_tokens:
            return None
        if token in self._expired_tokens:
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        return JSONResponse({"errcode": 40014, "errmsg": "invalid access_token"})

    async def getuserinfo(self, request: Request) -> Response:
        """网页授权: a code "code-<userid>" belongs to that member; anything else is invalid."""
        await self._record(request)
        if request.query_params.get("access_token") not in self._valid_tokens:
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        code = request.query_params.get("code", "")
        if not code.startswith("code-"):
            return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "userid": code.removeprefix("code-")})

    async def webhook_send(self, request: Request) -> Response:
        entry = await self._record(request)
        failed = await self._failure("webhook/send")
        if failed is not None:
            return failed
        key = request.query_params.get("key")
        if not key:
            return JSONResponse({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = entry.body if isinstance(entry.body, dict) else {}
        msgtype = body.get("msgtype")
        if msgtype not in WEBHOOK_MSGTYPES or not isinstance(body.get(msgtype), dict):
            return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
        item = body[msgtype]
        limit = {"text": WEBHOOK_TEXT_LIMIT, "markdown": WEBHOOK_MARKDOWN_LIMIT}.get(msgtype)
        if limit is not None and len(str(item.get("content") or "").encode()) > limit:
            # path/91770: text ≤ 2048 bytes, markdown ≤ 4096 bytes; 40058 over it
            # (shared/platforms.md §1 (b)).
            return JSONResponse({"errcode": 40058, "errmsg": "content exceed max length"})
        if msgtype == "image":
            # path/91770: md5 of the image before base64; lenye/pmsg#2 quotes the answer
            # to a mismatch, 301019 "media md5 not match".
            try:
                raw = base64.b64decode(item.get("base64") or "", validate=True)
            except ValueError:
                return JSONResponse({"errcode": 40009, "errmsg": "invalid image size"})
            if hashlib.md5(raw).hexdigest() != item.get("md5"):
                return JSONResponse({"errcode": 301019, "errmsg": "media md5 not match"})
        now = time.monotonic()
        recent = [t for t in self._webhook_sends.get(key, []) if now - t < 60]
        if len(recent) >= WEBHOOK_PER_MINUTE:
            # path/91770: 20 a minute per robot; the answer is 45009 (shared/platforms.md).
            self._webhook_sends[key] = recent
            return JSONResponse({"errcode": 45009, "errmsg": "api freq out of limit"})
        self._webhook_sends[key] = [*recent, now]
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def aibot_response(self, request: Request) -> Response:
        entry = await self._record(request)
        failed = await self._failure("aibot/response")
        if failed is not None:
            return failed
        # path/101138: a response_url "仅可调用一次" (usable once). The errcode of a
        # second use is UNCONFIRMED; the fake answers 40058 so a retry is visibly refused.
        code = request.query_params.get("response_code", "")
        if code in self._used_response_codes:
            return JSONResponse({"errcode": 40058, "errmsg": "response_code already used"})
        self._used_response_codes.add(code)
        body = entry.body if isinstance(entry.body, dict) else {}
        if body.get("msgtype") not in ("markdown", "template_card"):
            return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
        content = (body.get("markdown") or {}).get("content") if body["msgtype"] == "markdown" \
            else None
        if content is not None and len(str(content).encode()) > STREAM_LIMIT:
            # No limit is published for response_url's markdown: UNCONFIRMED, the fake
            # takes the stream's 20480 bytes, as djbot does, and refuses more with 40058.
            return JSONResponse({"errcode": 40058, "errmsg": "content exceed max length"})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def ws(self, socket: WebSocket) -> None:
        """The AI bot's long connection (path/101463; aibot-node-sdk src/ws.ts).

        Every frame gets an ack `{headers:{req_id}, errcode, errmsg}`. One connection per
        bot: a newer subscription takes over and the older socket is sent an
        `aibot_event_callback` with `disconnected_event`, then closed. A reply must answer
        a callback this socket was given (its req_id), once.
        """
        await socket.accept()
        self._sockets.append(socket)
        try:
            while True:
                frame = json.loads(await socket.receive_text())
                self.ws_frames.append(frame)
                cmd = frame.get("cmd")
                req_id = (frame.get("headers") or {}).get("req_id")
                body = frame.get("body") or {}
                errcode, errmsg = 0, "ok"
                if cmd == "aibot_subscribe":
                    if self.refuse_subscribes > 0:
                        self.refuse_subscribes -= 1
                        errcode, errmsg = 40001, "invalid secret"
                    elif body.get("bot_id") != BOT_ID or body.get("secret") != BOT_SECRET:
                        errcode, errmsg = 40001, "invalid secret"
                    else:
                        older = self._subscribed.get(BOT_ID)
                        self._subscribed[BOT_ID] = socket
                        if older is not None and older is not socket:
                            await self._kick(older)
                elif cmd == "ping":
                    if self.drop_pings > 0:  # a heartbeat ack lost on the way
                        self.drop_pings -= 1
                        continue
                elif self._subscribed.get(BOT_ID) is not socket:
                    # Not (or no longer) the bot's connection. UNCONFIRMED errcode.
                    errcode, errmsg = 40001, "not subscribed"
                elif cmd in ("aibot_respond_msg", "aibot_respond_welcome_msg"):
                    if req_id not in self._open_callbacks:
                        # Answering an unknown or already-answered callback. UNCONFIRMED
                        # errcode; the SDK (src/ws.ts) rejects the reply on any non-zero.
                        errcode, errmsg = 40058, "invalid req_id"
                    elif len(json.dumps(body, ensure_ascii=False).encode()) > STREAM_LIMIT + 1024:
                        errcode, errmsg = 40058, "content exceed max length"
                    else:
                        stream = body.get("stream") or {}
                        if not (cmd == "aibot_respond_msg" and stream.get("finish") is False):
                            self._open_callbacks.discard(req_id)
                        self.answered_callbacks.append(req_id)
                elif cmd == "aibot_send_msg":
                    # aibot-node-sdk src/types/api.ts: markdown or template_card only.
                    if body.get("msgtype") not in ("markdown", "template_card"):
                        errcode, errmsg = 40008, "invalid message type"
                    elif not body.get("chatid"):
                        errcode, errmsg = 40058, "chatid missing"
                    elif body["chatid"] in self.unreachable_chats:
                        # UNCONFIRMED: no source gives aibot_send_msg's answer for a chat
                        # the bot is not in; 86003 is the global list's "chatid 不存在".
                        errcode, errmsg = 86003, "chatid not exist"
                    elif self.drop_send_acks > 0:
                        self.drop_send_acks -= 1
                        continue
                await socket.send_text(json.dumps(
                    {"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg}))
                if cmd == "aibot_subscribe" and errcode:
                    await socket.close()
                    return
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if socket in self._sockets:
                self._sockets.remove(socket)
            if self._subscribed.get(BOT_ID) is socket:
                del self._subscribed[BOT_ID]

    async def _kick(self, socket: WebSocket) -> None:
        """What WeCom does to the older connection when a newer one subscribes."""
        self.kicked += 1
        event = {"cmd": "aibot_event_callback",
                 "headers": {"req_id": f"evt-{next(self._seq)}"},
                 "body": {"msgid": f"evt-{next(self._seq)}", "aibotid": BOT_ID,
                          "create_time": int(time.time()), "msgtype": "event",
                          "from": {"userid": ""},
                          "event": {"eventtype": "disconnected_event"}}}
        try:
            await socket.send_text(json.dumps(event))
            await socket.close()
        except RuntimeError:
            pass
        if socket in self._sockets:
            self._sockets.remove(socket)

    def push(self, frame: dict) -> None:
        """Send a frame (e.g. an aibot_msg_callback) to the bot's current connection."""
        req_id = (frame.get("headers") or {}).get("req_id")
        if frame.get("cmd") in ("aibot_msg_callback", "aibot_event_callback") and req_id:
            self._open_callbacks.add(req_id)

        async def _push():
            target = self._subscribed.get(BOT_ID)
            for socket in [target] if target is not None else list(self._sockets):
                await socket.send_text(json.dumps(frame, ensure_ascii=False))
        asyncio.run_coroutine_threadsafe(_push(), self._loop).result(5)

    def drop_connections(self) -> None:
        async def _drop():
            for socket in list(self._sockets):
                await socket.close()
        asyncio.run_coroutine_threadsafe(_drop(), self._loop).result(5)

    @property
    def connections(self) -> int:
        return len(self._sockets)

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> "FakeWecom":
        app = Starlette(routes=[
            Route("/cgi-bin/gettoken", self.gettoken),
            Route("/cgi-bin/message/send", self.message_send, methods=["POST"]),
            Route("/cgi-bin/webhook/send", self.webhook_send, methods=["POST"]),
            Route("/cgi-bin/aibot/response", self.aibot_response, methods=["POST"]),
            Route("/cgi-bin/auth/getuserinfo", self.getuserinfo),
            WebSocketRoute("/ws", self.ws),
        ])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off")
        self._server = uvicorn.Server(config)

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._server.serve())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake WeCom did not start")
            time.sleep(0.01)  # waiting for a real server socket, not for the clock
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


# --- what WeCom's servers do to callbacks, done with wechatpy's own code ------------------

AIBOT_TOKEN = "aibot-token"
AIBOT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
APP_TOKEN = "app-token"
APP_AES_KEY = "GFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba"


def seal(token: str, aes_key: str, receive_id: str, plaintext: str, *, timestamp: int,
         nonce: str = "1234567") -> tuple[dict[str, str], str]:
    """Encrypt a callback as WeCom would; return (query params, Encrypt)."""
    import xmltodict
    from wechatpy.enterprise.crypto import WeChatCrypto

    envelope = WeChatCrypto(token, aes_key, receive_id).encrypt_message(
        plaintext, nonce, str(timestamp))
    data = xmltodict.parse(envelope)["xml"]
    params = {"msg_signature": data["MsgSignature"], "timestamp": str(timestamp),
              "nonce": nonce}
    return params, data["Encrypt"]


def aibot_request(payload: dict, *, timestamp: int, nonce: str = "1234567",
                  token: str = AIBOT_TOKEN, aes_key: str = AIBOT_AES_KEY,
                  receive_id: str = "") -> tuple[dict[str, str], bytes]:
    """An AI-bot JSON callback: (query params, body)."""
    params, encrypt = seal(token, aes_key, receive_id, json.dumps(payload, ensure_ascii=False),
                           timestamp=timestamp, nonce=nonce)
    return params, json.dumps({"encrypt": encrypt}).encode()


def app_request(xml: str, *, timestamp: int, nonce: str = "7654321", token: str = APP_TOKEN,
                aes_key: str = APP_AES_KEY, corp_id: str = CORP_ID) -> tuple[dict[str, str], bytes]:
    """A self-built-app XML callback: (query params, body)."""
    params, encrypt = seal(token, aes_key, corp_id, xml, timestamp=timestamp, nonce=nonce)
    body = (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID>1000002</AgentID></xml>")
    return params, body.encode()


def open_aibot_reply(envelope: dict, *, token: str = AIBOT_TOKEN,
                     aes_key: str = AIBOT_AES_KEY) -> dict:
    """Verify and decrypt djbot's JSON passive reply the way WeCom would."""
    from wechatpy.enterprise.crypto import WeChatCrypto

    plaintext = WeChatCrypto(token, aes_key, "").decrypt_message(
        {"Encrypt": envelope["encrypt"]}, envelope["msgsignature"], envelope["timestamp"],
        envelope["nonce"])
    return json.loads(plaintext)


def open_app_reply(xml: str, *, token: str = APP_TOKEN, aes_key: str = APP_AES_KEY,
                   corp_id: str = CORP_ID) -> dict:
    """Verify and decrypt djbot's XML passive reply; return the reply's fields."""
    import xmltodict
    from wechatpy.enterprise.crypto import WeChatCrypto

    data = xmltodict.parse(xml)["xml"]
    plaintext = WeChatCrypto(token, aes_key, corp_id).decrypt_message(
        xml, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
    return xmltodict.parse(plaintext)["xml"]


def text_callback(*, msgid: str, user: str, text: str, chatid: str | None = None,
                  response_url: str = "http://127.0.0.1:9/cgi-bin/aibot/response?response_code=x"
                  ) -> dict:
    """A decrypted AI-bot text callback, group when chatid is given."""
    payload = {"msgid": msgid, "aibotid": "AIBOTID", "chattype": "group" if chatid else "single",
               "from": {"userid": user}, "response_url": response_url, "msgtype": "text",
               "text": {"content": f"@党建助手 {text}" if chatid else text}}
    if chatid:
        payload["chatid"] = chatid
    return payload


def app_text_xml(*, user: str, text: str, msgid: str, create_time: int,
                 corp_id: str = CORP_ID) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{create_time}"
            f"</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]>"
            f"</Content><MsgId>{msgid}</MsgId><AgentID>1000002</AgentID></xml>")
