"""A fake WeCom on 127.0.0.1: a real HTTP and WebSocket server for the adapter's tests.

It issues access tokens, answers message/send, webhook/send and the AI bot's
response_url, serves the long connection, records everything it received, and can be
told to fail the next calls (expired token, 45009, 60020, -1, HTTP 500, slow).
"""

from __future__ import annotations

import asyncio
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


@dataclass
class Received:
    path: str
    params: dict[str, str]
    body: Any


@dataclass
class FakeWecom:
    received: list[Received] = field(default_factory=list)
    ws_frames: list[dict] = field(default_factory=list)
    tokens_issued: int = 0
    slow_seconds: float = 2.0
    # Pending failures: (path suffix, kind), each consumed by the next matching call.
    failures: deque = field(default_factory=deque)
    _valid_tokens: set = field(default_factory=set)
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    _sockets: list = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    # --- switches -----------------------------------------------------------------

    def fail(self, path: str, kind: str, times: int = 1) -> None:
        """Make the next `times` calls to a path (e.g. "message/send") fail with `kind`:
        "expired" (42001), "45009", "60020", "-1", "40001", "500" or "slow"."""
        for _ in range(times):
            self.failures.append((path, kind))

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
                if kind == "500":
                    return Response("boom", status_code=500)
                if kind == "slow":
                    await asyncio.sleep(self.slow_seconds)
                    return None
                if kind == "expired":
                    self._valid_tokens.clear()
                    return None
                messages = {"45009": "api freq out of limit", "60020": "not allow to access "
                            "from your ip", "-1": "system busy", "40001": "invalid credential"}
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
        if q.get("corpid") != CORP_ID or q.get("corpsecret") != APP_SECRET:
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
        if entry.params.get("access_token") not in self._valid_tokens:
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

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
        await self._record(request)
        failed = await self._failure("webhook/send")
        if failed is not None:
            return failed
        if not request.query_params.get("key"):
            return JSONResponse({"errcode": 93000, "errmsg": "invalid webhook url"})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def aibot_response(self, request: Request) -> Response:
        await self._record(request)
        failed = await self._failure("aibot/response")
        return failed or JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def ws(self, socket: WebSocket) -> None:
        """The AI bot's long connection: subscribe, ping, callbacks pushed by the test."""
        await socket.accept()
        self._sockets.append(socket)
        try:
            while True:
                frame = json.loads(await socket.receive_text())
                self.ws_frames.append(frame)
                cmd = frame.get("cmd")
                req_id = (frame.get("headers") or {}).get("req_id")
                errcode = 0
                if cmd == "aibot_subscribe":
                    body = frame.get("body") or {}
                    if body.get("bot_id") != BOT_ID or body.get("secret") != BOT_SECRET:
                        errcode = 40001
                await socket.send_text(json.dumps(
                    {"headers": {"req_id": req_id}, "errcode": errcode,
                     "errmsg": "ok" if errcode == 0 else "invalid secret"}))
                if errcode:
                    await socket.close()
                    return
        except WebSocketDisconnect:
            pass
        finally:
            if socket in self._sockets:
                self._sockets.remove(socket)

    def push(self, frame: dict) -> None:
        """Send a frame (e.g. an aibot_msg_callback) to every connected long connection."""
        async def _push():
            for socket in list(self._sockets):
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
