"""Channels: thin senders, one per platform, that read the reply body. All three robots report
errors inside HTTP 200, so a sender that looked only at the status would call every failure
a success. Each send ends in an Outcome the outbox sender can act on: delivered, worth a retry
(and when), or a configuration fault that no retry will cure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass, field
from email.message import EmailMessage
from html import escape
from typing import Any, Protocol

import aiohttp
import aiosmtplib

from monitor.clock import Clock
from monitor.errors import ConfigError
from monitor.notify.settings import (
    ChannelSettings,
    DingTalk,
    Email,
    Feishu,
    Sms,
    Webhook,
    WeCom,
    secret,
)

TRUNCATED = "…（内容过长，已截断）"


@dataclass(frozen=True)
class Recipient:
    name: str
    wecom: str | None = None
    dingtalk: str | None = None
    feishu: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Message:
    """What an alert says, before a platform shapes it. Links are kept whole whatever has to
    be cut to fit a size limit."""

    title: str
    lines: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()  # (label, URL)
    to: Recipient | None = None
    # e-mail only (robots have no room for them): a whole HTML document as the body, in place
    # of one made from the lines, and files attached as (filename, MIME type, data)
    html: str | None = None
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    # robots: the others to mention (the people of a digest); e-mail and SMS go to ``to``
    also: tuple[Recipient, ...] = ()

    @property
    def mentioned(self) -> list[Recipient]:
        """Everyone a robot message mentions, once each."""
        found = [r for r in (self.to, *self.also) if r is not None]
        return list({r.name: r for r in found}.values())


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    detail: str  # the platform's reply, or what went wrong
    retry_after: float | None = None  # seconds; None: do not retry
    fault: bool = False  # a configuration fault (secret, key, keyword): tell the administrators

    @classmethod
    def ok(cls, detail: str) -> Outcome:
        return cls(True, detail)

    @classmethod
    def retry(cls, detail: str, after: float) -> Outcome:
        return cls(False, detail, retry_after=after)

    @classmethod
    def broken(cls, detail: str) -> Outcome:
        return cls(False, detail, fault=True)


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> Outcome: ...


def fit(parts: list[str], tail: list[str], limit: int, size: Any = None) -> str:
    """Join ``parts`` and ``tail`` (the links) with newlines within ``limit`` bytes (UTF-8),
    dropping and then cutting parts from the end, never the tail."""
    measure = size or (lambda text: len(text.encode()))
    whole = "\n".join(parts + tail)
    if measure(whole) <= limit:
        return whole
    kept = list(parts)
    while kept:
        kept.pop()
        candidate = "\n".join([*kept, TRUNCATED, *tail])
        if measure(candidate) <= limit:
            # room may be left to cut the next part rather than drop it all
            nxt = parts[len(kept)]
            room = limit - measure(candidate) - 1
            cut = nxt.encode()[:max(0, room)].decode(errors="ignore")
            return "\n".join([*kept, *([cut + TRUNCATED] if cut else [TRUNCATED]), *tail])
    return "\n".join(tail)[:limit]


async def _post_json(session: aiohttp.ClientSession, url: str, body: dict[str, Any],
                     seconds: float, headers: dict[str, str] | None = None
                     ) -> tuple[int, dict[str, Any] | None, str]:
    data = json.dumps(body, ensure_ascii=False).encode()
    async with session.post(url, data=data, headers={"Content-Type": "application/json",
                                                     **(headers or {})},
                            timeout=aiohttp.ClientTimeout(total=seconds)) as reply:
        text = await reply.text(errors="replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        return reply.status, parsed if isinstance(parsed, dict) else None, text[:500]


async def _guarded(call: Any) -> Outcome:
    """Transport errors and timeouts are worth a retry; so are 5xx and 429."""
    try:
        return await call  # type: ignore[no-any-return]
    except ConfigError as exc:  # a secret's variable is not set
        return Outcome.broken(str(exc))
    except TimeoutError:
        return Outcome.retry("timed out", 30)
    except aiohttp.ClientError as exc:
        return Outcome.retry(f"transport error: {exc.__class__.__name__}: {exc}", 30)


def _bearer(env: str | None, channel: str) -> dict[str, str]:
    token = secret(env, channel)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _http_outcome(status: int, text: str) -> Outcome | None:
    if status == 429:
        return Outcome.retry(f"HTTP 429: {text}", 60)
    if status >= 500:
        return Outcome.retry(f"HTTP {status}: {text}", 30)
    if status != 200:
        return Outcome.broken(f"HTTP {status}: {text}")
    return None


@dataclass
class WeComRobot:
    settings: WeCom
    session: aiohttp.ClientSession
    name: str = field(init=False)
    LIMIT = 4096  # markdown content, bytes

    def __post_init__(self) -> None:
        self.name = self.settings.name

    def body(self, message: Message) -> dict[str, Any]:
        mention = [f"<@{r.wecom}>" for r in message.mentioned if r.wecom]
        parts = [f"**{message.title}**", *message.lines]
        tail = [f"[{label}]({url})" for label, url in message.links] + mention
        return {"msgtype": "markdown", "markdown": {"content": fit(parts, tail, self.LIMIT)}}

    async def send(self, message: Message) -> Outcome:
        return await _guarded(self._send(message))

    async def _send(self, message: Message) -> Outcome:
        key = secret(self.settings.key_env, self.name)
        url = f"{self.settings.base_url}/cgi-bin/webhook/send?key={urllib.parse.quote(key or '')}"
        status, reply, text = await _post_json(self.session, url, self.body(message),
                                               self.settings.timeout)
        failed = _http_outcome(status, text)
        if failed is not None:
            return failed
        code = (reply or {}).get("errcode")
        if code == 0:
            return Outcome.ok(text)
        if code == 45009:  # over the robot's 20 a minute
            return Outcome.retry(text, 60)
        if code in (-1,):  # system busy
            return Outcome.retry(text, 30)
        return Outcome.broken(text)  # 93000 bad key, 40008 bad message type, …


def dingtalk_sign(secret_value: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret_value.encode(), f"{timestamp_ms}\n{secret_value}".encode(),
                      hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


@dataclass
class DingTalkRobot:
    settings: DingTalk
    session: aiohttp.ClientSession
    clock: Clock
    name: str = field(init=False)
    LIMIT = 20_000  # whole body, bytes

    def __post_init__(self) -> None:
        self.name = self.settings.name

    def body(self, message: Message) -> dict[str, Any]:
        people = message.mentioned
        mention = [f"@{r.dingtalk or r.phone}" for r in people if r.dingtalk or r.phone]
        keyword = self.settings.keyword
        title = message.title if not keyword or keyword in message.title else \
            f"【{keyword}】{message.title}"
        parts = [f"### {title}", *message.lines]
        tail = [f"[{label}]({url})" for label, url in message.links] + mention
        at: dict[str, Any] = {"isAtAll": False}
        if ids := [r.dingtalk for r in people if r.dingtalk]:
            at["atUserIds"] = ids
        if phones := [r.phone for r in people if r.phone]:
            at["atMobiles"] = phones
        envelope: dict[str, Any] = {"msgtype": "markdown",
                                    "markdown": {"title": title, "text": ""}, "at": at}
        room = self.LIMIT - len(json.dumps(envelope, ensure_ascii=False).encode())
        envelope["markdown"]["text"] = fit(
            parts, tail, room, lambda t: len(json.dumps(t, ensure_ascii=False).encode()))
        return envelope

    async def send(self, message: Message) -> Outcome:
        return await _guarded(self._send(message))

    async def _send(self, message: Message) -> Outcome:
        token = secret(self.settings.token_env, self.name) or ""
        query = f"access_token={urllib.parse.quote(token)}"
        signing = secret(self.settings.secret_env, self.name)
        if signing:
            ms = int(self.clock.now().timestamp() * 1000)
            query += f"&timestamp={ms}&sign={dingtalk_sign(signing, ms)}"
        status, reply, text = await _post_json(
            self.session, f"{self.settings.base_url}/robot/send?{query}", self.body(message),
            self.settings.timeout)
        failed = _http_outcome(status, text)
        if failed is not None:
            return failed
        code = (reply or {}).get("errcode")
        if code == 0:
            return Outcome.ok(text)
        if code in (130101, 410100):  # sending too fast: throttled for ten minutes
            return Outcome.retry(text, self.settings.lockout)
        return Outcome.broken(text)  # 310000 keyword, signature, timestamp or IP; …


def feishu_sign(secret_value: str, timestamp_s: int) -> str:
    """base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp_s}\n{secret_value}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


@dataclass
class FeishuBot:
    settings: Feishu
    session: aiohttp.ClientSession
    clock: Clock
    name: str = field(init=False)
    LIMIT = 20_000

    def __post_init__(self) -> None:
        self.name = self.settings.name

    def body(self, message: Message) -> dict[str, Any]:
        keyword = self.settings.keyword
        title = message.title if not keyword or keyword in message.title else \
            f"【{keyword}】{message.title}"
        links = [[{"tag": "a", "text": label, "href": url}] for label, url in message.links]
        if ats := [{"tag": "at", "user_id": r.feishu} for r in message.mentioned if r.feishu]:
            links.append(ats)
        envelope: dict[str, Any] = {"msg_type": "post", "content": {"post": {"zh_cn": {
            "title": title, "content": links}}}}
        size = len(json.dumps(envelope, ensure_ascii=False).encode())
        text = fit(list(message.lines), [], self.LIMIT - size - 200)
        lines = [[{"tag": "text", "text": line}] for line in text.split("\n") if line]
        envelope["content"]["post"]["zh_cn"]["content"] = lines + links
        return envelope

    async def send(self, message: Message) -> Outcome:
        return await _guarded(self._send(message))

    async def _send(self, message: Message) -> Outcome:
        token = secret(self.settings.token_env, self.name) or ""
        body = self.body(message)
        signing = secret(self.settings.secret_env, self.name)
        if signing:
            ts = int(self.clock.now().timestamp())
            body = {"timestamp": str(ts), "sign": feishu_sign(signing, ts), **body}
        status, reply, text = await _post_json(
            self.session, f"{self.settings.base_url}/open-apis/bot/v2/hook/"
                          f"{urllib.parse.quote(token)}", body, self.settings.timeout)
        failed = _http_outcome(status, text)
        if failed is not None:
            return failed
        code = (reply or {}).get("code", (reply or {}).get("StatusCode"))
        if code == 0:
            return Outcome.ok(text)
        if code == 11232:  # frequency limited
            return Outcome.retry(text, 60)
        return Outcome.broken(text)  # 19021 signature or timestamp, 19024 keyword, 9499, …


@dataclass
class Mailer:
    settings: Email
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.settings.name

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.settings.sender
        mail["To"] = message.to.email if message.to and message.to.email else ""
        links = [f"{label}: {url}" for label, url in message.links]
        mail.set_content("\n".join([*message.lines, "", *links]))
        mail.add_alternative(message.html or self._html(message), subtype="html")
        for filename, mime, data in message.attachments:
            maintype, _, subtype = mime.partition("/")
            mail.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                                filename=filename)
        return mail

    @staticmethod
    def _html(message: Message) -> str:
        html_lines = "".join(f"<p>{escape(line)}</p>" for line in message.lines)
        html_links = "".join(f'<p><a href="{escape(url)}">{escape(label)}</a></p>'
                             for label, url in message.links)
        return (f"<html><body><h3>{escape(message.title)}</h3>{html_lines}"
                f"{html_links}</body></html>")

    async def send(self, message: Message) -> Outcome:
        if message.to is None or not message.to.email:
            return Outcome.broken(f"{message.to.name if message.to else 'nobody'} has no e-mail "
                                  "address in the roster")
        s = self.settings
        try:
            await aiosmtplib.send(
                self.build(message), hostname=s.host, port=s.port, use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                username=secret(s.username_env, self.name),
                password=secret(s.password_env, self.name), timeout=s.timeout)
        except ConfigError as exc:
            return Outcome.broken(str(exc))
        except aiosmtplib.SMTPAuthenticationError as exc:
            return Outcome.broken(f"SMTP authentication failed: {exc}")
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Outcome.broken(f"recipient refused: {exc}")
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                return Outcome.retry(f"SMTP {exc.code}: {exc.message}", 60)
            return Outcome.broken(f"SMTP {exc.code}: {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome.retry(f"SMTP: {exc.__class__.__name__}: {exc}", 60)
        return Outcome.ok("250 accepted")


@dataclass
class SmsGateway:
    settings: Sms
    session: aiohttp.ClientSession
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.settings.name

    def text(self, message: Message) -> str:
        links = " ".join(url for _, url in message.links[:1])
        whole = " ".join([f"【{message.title}】", *message.lines])
        room = self.settings.max_chars - len(links) - 1
        return (whole if len(whole) <= room else whole[:room - 1] + "…") + " " + links

    async def send(self, message: Message) -> Outcome:
        if message.to is None or not message.to.phone:
            return Outcome.broken(f"{message.to.name if message.to else 'nobody'} has no phone "
                                  "number in the roster")
        return await _guarded(self._send(message, message.to.phone))

    async def _send(self, message: Message, phone: str) -> Outcome:
        def fill(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)[1:-1]

        body = json.loads(self.settings.body.replace("{phone}", fill(phone))
                          .replace("{text}", fill(self.text(message))))
        status, _, text = await _post_json(self.session, self.settings.url, body,
                                           self.settings.timeout,
                                           _bearer(self.settings.token_env, self.name))
        return _http_outcome(status, text) or Outcome.ok(text)


@dataclass
class JsonWebhook:
    settings: Webhook
    session: aiohttp.ClientSession
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.settings.name

    async def send(self, message: Message) -> Outcome:
        return await _guarded(self._send(message))

    async def _send(self, message: Message) -> Outcome:
        headers = _bearer(self.settings.token_env, self.name)
        body = {"title": message.title, "lines": list(message.lines),
                "links": [{"label": label, "url": url} for label, url in message.links],
                "to": message.to.name if message.to else None}
        status, _, text = await _post_json(self.session, self.settings.url, body,
                                           self.settings.timeout, headers)
        return _http_outcome(status, text) or Outcome.ok(text)


def make_channel(settings: ChannelSettings, session: aiohttp.ClientSession,
                 clock: Clock) -> Channel:
    if isinstance(settings, WeCom):
        return WeComRobot(settings, session)
    if isinstance(settings, DingTalk):
        return DingTalkRobot(settings, session, clock)
    if isinstance(settings, Feishu):
        return FeishuBot(settings, session, clock)
    if isinstance(settings, Email):
        return Mailer(settings)
    if isinstance(settings, Sms):
        return SmsGateway(settings, session)
    return JsonWebhook(settings, session)
