"""A local fake DingTalk: a real HTTP server on 127.0.0.1 (tokens, sessionWebhook posts,
proactive group and batch sends, custom robots, the Stream gateway's connections/open,
the OAuth2 web login's userAccessToken, contact/users/me and topapi/user/getbyunionid)
and a WebSocket server that pushes robot messages the way the Stream gateway does.

It records everything it receives, checks what the real platform checks and answers
with DingTalk's own codes; each rule names the page (open.dingtalk.com/document/…) or SDK
file it comes from, and says UNCONFIRMED where no source gives the exact code. It can be
told to fail, throttle, flow-control users or expire a sessionWebhook.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from websockets.sync.server import serve

from bot.adapters.dingtalk.signing import sign

CHATBOT_TOPIC = "/v1.0/im/bot/messages/get"
# platforms.md §3 (robot/groupMessages/send and oToMessages/batchSend reference pages):
# msgParam is a JSON string of at most 15 000 bytes; batchSend takes at most 20 userIds.
MSG_PARAM_BYTES = 15_000
BATCH_USERS = 20
# The msgKeys djbot uses (robot message templates page, "sampleText", "sampleMarkdown").
MSG_KEYS = {"sampleText": {"content"}, "sampleMarkdown": {"title", "text"}}
# Custom robot (custom-robot-access page): timestamp within one hour of DingTalk's time.
ROBOT_WINDOW_MS = 3_600_000


class _Server(ThreadingHTTPServer):
    # The standard library listens with a backlog of 5; 20 check-ins and their replies
    # arriving at once overflowed it and djbot's webhook replies failed with a reset
    # connection (then went by the outbox). A real gateway accepts far more.
    request_queue_size = 128
    daemon_threads = True


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200  # what the fake answered
    errcode: int = 0  # for webhook-style answers


class FakeDingtalk:
    def __init__(self, *, app_key: str = "ding-key", app_secret: str = "ding-secret",
                 clock=None) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        # DingTalk's own time, for the windows it checks (a test passes its ManualClock).
        self.clock = clock
        # batchSend: userId → what its next sends meet, in order (True: flow-controlled,
        # False: delivered); and the userIds DingTalk does not know (aliyun/dingtalk-sdk
        # BatchSendOTOResponseBody).
        self.flow_controlled: dict[str, list[bool]] = {}
        self.invalid_staff: set[str] = set()
        # sessionWebhook name → its expiry (ms); see session_webhook().
        self.webhook_expiry: dict[str, int] = {}
        self.received: list[Received] = []
        self.reached: list[str] = []  # userIds a batchSend actually delivered to
        # What each person found in their single chat with the robot, in order (the text
        # of each batchSend that reached them): what a member would notice.
        self.inbox: dict[str, list[str]] = {}
        self.valid_tokens: set[str] = set()
        self.robot_secrets: dict[str, str] = {}  # custom robot access_token → SEC… secret
        self.robot_throttled = False
        # OAuth2 web login: one-time authCodes → the unionId they stand for, user tokens
        # → unionId, and the organisation's directory unionId → userid (see sign_in()).
        self.auth_codes: dict[str, str] = {}
        self.user_tokens: dict[str, str] = {}
        self.directory: dict[str, str] = {}
        self.user_scope_granted = True  # the app has 通讯录个人信息读权限 (Contact.User.Read)
        self.member_scope_granted = True  # the app has 成员信息读权限 (qyapi_get_member)
        # Who is signed in to the DingTalk client whose browser opens the login page
        # (login_page()), and the 重定向URL registered on the app (None: any).
        self.client_user: str | None = None
        self.registered_redirect: str | None = None
        self._failures: dict[str, list[tuple[int, dict]]] = {}
        # Re-entrant: wait_for() holds it while its predicate reads the records.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        # Stream gateway
        self.frames: queue.Queue[dict | None] = queue.Queue()
        self.acks: list[dict] = []
        self.connections = 0
        self._drop_connection = threading.Event()
        self._http = _Server(("127.0.0.1", 0), self._handler_class())
        self._ws = serve(self._ws_session, "127.0.0.1", 0)
        self._threads = [threading.Thread(target=self._http.serve_forever,
                                          kwargs={"poll_interval": 0.05}, daemon=True),
                         threading.Thread(target=self._ws.serve_forever, daemon=True)]

    # --- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> "FakeDingtalk":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.frames.put(None)
        self._ws.shutdown()
        self._http.shutdown()
        self._http.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}/connect"

    # --- switches -----------------------------------------------------------------------

    def fail(self, path: str, *, status: int = 500, body: dict | None = None,
             times: int = 1, after: int = 0) -> None:
        """Answer the next `times` requests to path with this status and body; with
        `after`, that many requests are answered as usual first."""
        with self._lock:
            self._failures.setdefault(path, []).extend(
                [None] * after + [(status, body or {})] * times)

    def expire_tokens(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    def add_robot(self, access_token: str, secret: str) -> str:
        """Register a custom robot; returns its webhook URL (without timestamp and sign)."""
        self.robot_secrets[access_token] = secret
        return f"{self.base_url}/robot/send?access_token={access_token}"

    def session_webhook(self, name: str, *, expires_ms: int | None = None) -> str:
        """A sessionWebhook URL; with expires_ms, posts after that time are refused."""
        if expires_ms is not None:
            self.webhook_expiry[name] = expires_ms
        return f"{self.base_url}/session/{name}"

    def flow_control(self, *user_ids: str, times: int = 1, after: int = 0) -> None:
        """The next `times` batchSends to these users answer them as flow-controlled;
        with `after`, that many sends reach them first (part 1 arrives, part 2 is held)."""
        with self._lock:
            for user in user_ids:
                self.flow_controlled[user] = [False] * after + [True] * times

    def sign_in(self, user_id: str | None, *, union_id: str | None = None) -> str:
        """What DingTalk's login page does for someone signed in to the client: a
        one-time authCode for them. user_id None: a DingTalk user outside the
        organisation (their unionId maps to nobody)."""
        union_id = union_id or f"union-{user_id or uuid.uuid4().hex[:6]}"
        code = f"auth-{uuid.uuid4().hex[:10]}"
        with self._lock:
            self.auth_codes[code] = union_id
            if user_id is not None:
                self.directory[union_id] = user_id
        return code

    def login_page(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        """login.dingtalk.com/oauth2/auth inside the client: checks what the tutorial
        实现登录第三方网站 requires, then sends the browser back to redirect_uri with
        authCode and state. Returns (status, headers); 400 for a request DingTalk refuses."""
        redirect = query.get("redirect_uri", "")
        if (query.get("client_id") != self.app_key or query.get("response_type") != "code"
                or "openid" not in query.get("scope", "").split()
                or not redirect.startswith(("http://", "https://"))
                or (self.registered_redirect is not None and redirect != self.registered_redirect)
                or self.client_user is None):
            return 400, {}
        code = self.sign_in(self.client_user)
        separator = "&" if "?" in redirect else "?"
        back = urlencode({"authCode": code, "state": query.get("state", "")})
        return 302, {"location": f"{redirect}{separator}{back}"}

    def now_ms(self) -> int:
        if self.clock is not None:
            return int(self.clock.now().timestamp() * 1000)
        return int(time.time() * 1000)

    # --- what was received ---------------------------------------------------------------

    def posts(self, prefix: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.startswith(prefix)]

    def delivered(self, prefix: str) -> list[Received]:
        """The posts under prefix that the fake accepted."""
        return [r for r in self.posts(prefix) if r.status == 200 and r.errcode == 0]

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        """Block until predicate() is true (checked whenever the fake receives something)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.2))
        return True

    def _record(self, item: Received | None = None, ack: dict | None = None) -> None:
        with self._changed:
            if item is not None:
                self.received.append(item)
            if ack is not None:
                self.acks.append(ack)
            self._changed.notify_all()

    # --- Stream gateway --------------------------------------------------------------------

    def push(self, data: dict[str, Any]) -> str:
        """Queue a robot message for the connected client; returns the frame's messageId."""
        message_id = uuid.uuid4().hex
        self.frames.put({
            "specVersion": "1.0",
            "type": "CALLBACK",
            "headers": {
                "appId": self.app_key, "connectionId": "conn-1",
                "contentType": "application/json", "messageId": message_id,
                "time": str(int(time.time() * 1000)), "topic": CHATBOT_TOPIC,
            },
            "data": json.dumps(data, ensure_ascii=False),
        })
        return message_id

    def system(self, topic: str, *, close_after: float = 0,
               then: tuple[dict[str, Any], ...] = ()) -> str:
        """Queue a SYSTEM frame ("ping" or "disconnect"), as the gateway sends them
        (dingtalk-stream stream.py route_message, SystemMessage.TOPIC_DISCONNECT).
        `close_after`: after a disconnect the gateway still reads acks this long, unless
        the client closes first (how long the real one waits is UNCONFIRMED). `then`: robot
        messages already on their way on this connection, behind the SYSTEM frame."""
        message_id = uuid.uuid4().hex
        self.frames.put({
            "specVersion": "1.0", "type": "SYSTEM",
            "headers": {"appId": self.app_key, "connectionId": "conn-1",
                        "contentType": "application/json", "messageId": message_id,
                        "time": str(int(time.time() * 1000)), "topic": topic},
            "data": json.dumps({"opaque": message_id}),
        })
        for data in then:
            self.push(data)
        if topic == "disconnect":
            # The gateway closes the socket itself shortly after (the SDK closes first).
            self.frames.put({"__close__": True, "__after__": close_after})
        return message_id

    def drop_connection(self) -> None:
        """Close the current WebSocket, as the gateway does when it rebalances."""
        self._drop_connection.set()

    def acked(self, message_id: str) -> dict | None:
        with self._lock:
            return next((a for a in self.acks
                         if a.get("headers", {}).get("messageId") == message_id), None)

    def _ws_session(self, websocket) -> None:
        ticket = parse_qs(urlsplit(websocket.request.path).query).get("ticket", [""])[0]
        if not ticket.startswith("ticket-"):
            websocket.close(code=4001)
            return
        with self._lock:
            self.connections += 1
        self._drop_connection.clear()

        def read_acks() -> None:
            try:
                for raw in websocket:
                    self._record(ack=json.loads(raw))
            except Exception:
                pass

        reader = threading.Thread(target=read_acks, daemon=True)
        reader.start()
        sent: list[dict] = []  # the robot messages pushed on this connection
        # Serve frames until told to drop the connection or the client goes away (a frame
        # taken from the queue by a dead connection would be lost).
        while not self._drop_connection.is_set() and reader.is_alive():
            try:
                frame = self.frames.get(timeout=0.05)
            except queue.Empty:
                continue
            if frame is None or frame.get("__close__"):
                deadline = time.monotonic() + (frame or {}).get("__after__", 0)
                while time.monotonic() < deadline and reader.is_alive():
                    time.sleep(0.05)  # acks still come in; nothing new goes out
                break
            try:
                websocket.send(json.dumps(frame, ensure_ascii=False))
            except Exception:
                # The connection closed under it (the client reconnecting): the gateway
                # delivers what was never received on the next connection, as DingTalk
                # redelivers a push nobody acknowledged.
                self.frames.put(frame)
                break
            if frame.get("type") == "CALLBACK":
                sent.append(frame)
        websocket.close()
        reader.join(timeout=2)
        # A robot message pushed here and never acked comes again on the next connection.
        for frame in sent:
            if not self.acked(frame["headers"]["messageId"]):
                self.frames.put(frame)

    # --- HTTP ---------------------------------------------------------------------------------

    def _answer(self, path: str, query: dict[str, str], headers: dict[str, str],
                body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            pending = self._failures.get(path)
            if pending:
                failure = pending.pop(0)
                if failure is not None:
                    return failure
        if path == "/v1.0/oauth2/accessToken":
            if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
                return 400, {"code": "invalidClientIdOrSecret", "message": "无效的appKey或appSecret"}
            token = f"tok-{uuid.uuid4().hex[:8]}"
            with self._lock:
                self.valid_tokens.add(token)
            return 200, {"accessToken": token, "expireIn": 7200}
        if path == "/v1.0/oauth2/userAccessToken":
            # aliyun/dingtalk-sdk oauth2_1_0 GetUserTokenRequest/ResponseBody field names.
            if (body.get("clientId") != self.app_key
                    or body.get("clientSecret") != self.app_secret):
                return 400, {"code": "invalidClientIdOrSecret",
                             "message": "无效的clientId或clientSecret"}
            if body.get("grantType") != "authorization_code":
                return 400, {"code": "invalidParameter.grantType.invalid",
                             "message": "grantType不合法"}
            with self._lock:
                union_id = self.auth_codes.pop(str(body.get("code")), None)  # one use only
                if union_id is None:
                    # The answer to an unknown or spent code, as integrations quote it:
                    # {"requestid", "code": "invalidParameter.authCode.notFound",
                    # "message": "不合法的临时授权码"} with HTTP 400.
                    return 400, {"requestid": uuid.uuid4().hex,
                                 "code": "invalidParameter.authCode.notFound",
                                 "message": "不合法的临时授权码"}
                token = f"utok-{uuid.uuid4().hex[:8]}"
                self.user_tokens[token] = union_id
            return 200, {"accessToken": token, "refreshToken": f"r-{token}", "expireIn": 7200,
                         "corpId": "ding-corp"}
        if path == "/v1.0/contact/users/me":
            # contact_1_0 GetUser ("me" = the token's own user): GetUserResponseBody.
            union_id = self.user_tokens.get(headers.get("x-acs-dingtalk-access-token", ""))
            if union_id is None:
                return 401, {"requestid": uuid.uuid4().hex, "code": "InvalidAuthentication",
                             "message": "不合法的access_token"}
            if not self.user_scope_granted:
                # Without Contact.User.Read (integrations quote the requiredScopes detail).
                return 403, {"requestid": uuid.uuid4().hex,
                             "code": "Forbidden.AccessDenied.AccessTokenPermissionDenied",
                             "message": "没有调用该接口的权限",
                             "accessdenieddetail": {"requiredScopes": ["Contact.User.Read"]}}
            return 200, {"nick": "钉钉用户", "unionId": union_id, "openId": f"open-{union_id}",
                         "stateCode": "86", "visitor": False}
        if path == "/topapi/user/getbyunionid":
            # oapi style: HTTP 200 with {errcode, errmsg}; the app token in the query
            # (query-a-user-by-the-union-id). 40014 不合法的access_token; 60121 找不到该用户.
            if query.get("access_token") not in self.valid_tokens:
                return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
            if not self.member_scope_granted:
                # Without qyapi_get_member: errcode 88 with sub_code 60011, as
                # integrations report it. UNCONFIRMED: no DingTalk page gives it.
                return 200, {"errcode": 88, "errmsg": "没有调用该接口的权限",
                             "sub_code": "60011", "sub_msg": "没有调用该接口的权限"}
            user_id = self.directory.get(str(body.get("unionid")))
            if user_id is None:
                return 200, {"errcode": 60121, "errmsg": "找不到该用户",
                             "request_id": uuid.uuid4().hex}
            return 200, {"errcode": 0, "errmsg": "ok", "request_id": uuid.uuid4().hex,
                         "result": {"contact_type": 0, "userid": user_id}}
        if path == "/v1.0/gateway/connections/open":
            if body.get("clientId") != self.app_key or body.get("clientSecret") != self.app_secret:
                return 401, {"code": "InvalidAuthentication"}
            return 200, {"endpoint": self.ws_url, "ticket": f"ticket-{uuid.uuid4().hex[:8]}"}
        if path.startswith("/v1.0/robot/"):
            if headers.get("x-acs-dingtalk-access-token") not in self.valid_tokens:
                # HTTP 400, as integrations quote it: satorijs/satori#240, ClouGence/open-cdm#342
                return 400, {"code": "InvalidAuthentication", "message": "不合法的access_token"}
            if path.endswith("/batchSend") and len(body.get("userIds", [])) > BATCH_USERS:
                return 400, {"code": "invalidParameter.userIds.invalid"}
            problem = self._msg_problem(body)
            if problem is not None:
                return 400, {"code": problem, "message": problem}
            if path.endswith("/batchSend"):
                return 200, self._batch_answer(body.get("userIds") or [],
                                               json.loads(body["msgParam"]))
            return 200, {"processQueryKey": uuid.uuid4().hex}
        if path == "/robot/send":
            secret = self.robot_secrets.get(query.get("access_token", ""))
            if secret is None:
                return 200, {"errcode": 300001, "errmsg": "token is not exist"}
            if query.get("sign") != sign(query.get("timestamp", ""), secret):
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
            stamp = query.get("timestamp", "")
            if not stamp.isdigit() or abs(self.now_ms() - int(stamp)) > ROBOT_WINDOW_MS:
                # custom-robot-access page: "timestamp 与请求调用时间误差不能超过1小时";
                # answered as 310000 like a bad sign.
                return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
            if self.robot_throttled:
                return 200, {"errcode": 130101,
                             "errmsg": "send too fast, exceed 20 times per minute"}
            return 200, {"errcode": 0, "errmsg": "ok"}
        if path.startswith("/session/"):
            expiry = self.webhook_expiry.get(path.removeprefix("/session/"))
            if expiry is not None and self.now_ms() > expiry:
                # The sessionWebhook stops working at sessionWebhookExpiredTime
                # (receive-message page). UNCONFIRMED errcode.
                return 200, {"errcode": 300001, "errmsg": "session webhook expired"}
            return 200, {"errcode": 0, "errmsg": "ok"}
        return 404, {"code": "notFound"}

    def _msg_problem(self, body: dict[str, Any]) -> str | None:
        """Why DingTalk would refuse a proactive robot message (codes UNCONFIRMED)."""
        param = body.get("msgParam")
        if not isinstance(param, str):
            return "invalidParameter.msgParam.missing"
        if len(param.encode()) > MSG_PARAM_BYTES:
            return "invalidParameter.msgParam.length"
        try:
            fields = json.loads(param)  # must be a JSON string, as DingTalk requires
        except ValueError:
            return "invalidParameter.msgParam.json"
        needed = MSG_KEYS.get(body.get("msgKey", ""))
        if needed is None or not isinstance(fields, dict) or not needed <= set(fields):
            return "invalidParameter.msgKey"
        return None

    def _batch_answer(self, user_ids: list[str], param: dict[str, Any]) -> dict[str, Any]:
        """batchSend accepts the call and names who was not reached inside the 200
        (aliyun/dingtalk-sdk BatchSendOTOResponseBody: flowControlledStaffIdList,
        invalidStaffIdList)."""
        with self._lock:
            invalid = [u for u in user_ids if u in self.invalid_staff]
            throttled = []
            for user in user_ids:
                plan = self.flow_controlled.get(user)
                if plan and user not in invalid and plan.pop(0):
                    throttled.append(user)
            reached = [u for u in user_ids if u not in invalid and u not in throttled]
            self.reached.extend(reached)
            for user in reached:
                self.inbox.setdefault(user, []).append(param.get("content") or param["text"])
        return {"processQueryKey": uuid.uuid4().hex, "invalidStaffIdList": invalid,
                "flowControlledStaffIdList": throttled}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = fake._answer(url.path, query, headers, body)
                fake._record(Received(url.path, body, query, headers, status,
                                      answer.get("errcode", 0)))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - contact/users/me
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                if url.path == "/oauth2/auth":  # the login page, a browser's top-level GET
                    status, extra = fake.login_page(query)
                    fake._record(Received(url.path, {}, query, headers, status, 0))
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                status, answer = fake._answer(url.path, query, headers, {})
                fake._record(Received(url.path, {}, query, headers, status, 0))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler


def robot_message(*, msg_id: str, sender: str, text: str, now_ms: int,
                  conversation: str = "cidGroup1", private: bool = False,
                  webhook: str | None = None, webhook_ttl_ms: int = 5_400_060,
                  nick: str | None = None) -> dict[str, Any]:
    """A robot message as DingTalk sends it (HTTP callback body, or Stream frame data)."""
    payload: dict[str, Any] = {
        "msgtype": "text",
        "text": {"content": f" {text}"},  # DingTalk leaves a space where the @robot was
        "msgId": msg_id,
        "createAt": now_ms,
        "conversationType": "1" if private else "2",
        "conversationId": f"cidPriv-{sender}" if private else conversation,
        "senderId": f"$:LWCP_v1:${sender}",
        "senderStaffId": sender,
        "senderNick": nick or sender,
        "senderCorpId": "ding-corp",
        "chatbotCorpId": "ding-corp",
        "chatbotUserId": "$:LWCP_v1:$robot",
        "robotCode": "ding-robot",
        "isAdmin": False,
        "isInAtList": True,
        "atUsers": [] if private else [{"dingtalkId": "$:LWCP_v1:$robot"}],
        "sessionWebhookExpiredTime": now_ms + webhook_ttl_ms,
    }
    if not private:
        payload["conversationTitle"] = "支部群"
    if webhook is not None:
        payload["sessionWebhook"] = webhook
    return payload


def encrypted_callback(payload: dict[str, Any], *, token: str, aes_key: str, app_key: str,
                       now_ms: int, nonce: str = "nOnCe123") -> tuple[dict[str, str], bytes]:
    """A callback as DingTalk sends it with 消息体加密 on: (query params, body).

    Made with wechatpy's cipher, which is DingTalk's scheme too (open-dingtalk/
    DingTalk-Callback-Crypto DingCallbackCrypto3.py: AES-CBC, IV = key[:16], 32-byte
    PKCS#7, owner key at the end; signature = sha1 of the sorted token, timestamp, nonce
    and ciphertext; the timestamp in milliseconds)."""
    import base64
    import hashlib

    from wechatpy.enterprise.crypto import PrpCrypto

    encrypt = PrpCrypto(base64.b64decode(aes_key + "=")).encrypt(
        json.dumps(payload, ensure_ascii=False), app_key).decode()
    timestamp = str(now_ms)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode())
    return ({"msg_signature": signature.hexdigest(), "timestamp": timestamp, "nonce": nonce},
            json.dumps({"encrypt": encrypt}).encode())


def open_encrypted_answer(answer: dict[str, str], *, token: str, aes_key: str,
                          app_key: str) -> str:
    """Check and decrypt djbot's answer to an encrypted callback, as DingTalk would."""
    import base64
    import hashlib

    from wechatpy.enterprise.crypto import PrpCrypto

    parts = sorted([token, answer["timeStamp"], answer["nonce"], answer["encrypt"]])
    assert hashlib.sha1("".join(parts).encode()).hexdigest() == answer["msg_signature"]
    return PrpCrypto(base64.b64decode(aes_key + "=")).decrypt(answer["encrypt"], app_key)
