"""Sign-in, sessions, CSRF and roles.

Passwords are hashed with Argon2id (argon2-cffi's defaults: 64 MiB, 3 passes). A session is a
random cookie (HttpOnly, SameSite=Strict) that expires; the database keeps only its SHA-256.
Every state-changing request needs the session's CSRF token in the form field ``csrf`` or the
``X-CSRF-Token`` header; the sign-in form uses a double-submit cookie, as there is no session
yet. Failed sign-ins are limited per name and per address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import wraps

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from markupsafe import Markup

from monitor.clock import Clock
from monitor.store import Store
from monitor.store.users import (
    User,
    add_failures,
    add_session,
    end_sessions,
    failures_since,
    session_user,
    user_by_name,
)
from monitor.web.templates import render

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ROLES = ("admin", "duty_officer", "leader", "evaluator")
ROLE_NAMES = {"admin": "管理员", "duty_officer": "值班员", "leader": "领导", "evaluator": "考核人员"}
SESSION_COOKIE = "monitor_session"
LOGIN_CSRF_COOKIE = "monitor_login_csrf"
SESSION_LIFETIME = timedelta(hours=8)
MIN_PASSWORD = 10
FAILURES_ALLOWED = 5  # for one name from one address
ADDRESS_FAILURES_ALLOWED = 20  # for any names from one address
FAILURE_WINDOW_S = 15 * 60
EXEMPT = ("/login", "/ack/")  # the sign-in form (double-submit) and signed ack links

_hasher = PasswordHasher()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER = web.RequestKey("user", User)
CSRF = web.RequestKey("csrf", str)


class PasswordError(ValueError):
    """A password that is too short."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Throttle:
    """Failed sign-ins per key in a sliding window, each key with its own limit. Counted in
    the store, so that whichever process of the service answers, the limits are the same;
    keys are kept as their SHA-256, so no typed name is stored."""

    def __init__(self, clock: Clock, store: Callable[[], Store]) -> None:
        self.clock, self._store = clock, store

    async def retry_after(self, *keys: tuple[str, int]) -> int:
        """Seconds until another try is allowed for (key, limit) pairs; 0 when it is now."""
        now = self.clock.now()
        digests = [_digest(k) for k, _ in keys]
        seen = await self._store().run(lambda c: failures_since(
            c, digests, now - timedelta(seconds=FAILURE_WINDOW_S)))
        wait = 0.0
        for digest, (_, limit) in zip(digests, keys, strict=True):
            times = seen[digest]
            if len(times) >= limit:
                wait = max(wait, (times[-limit] - now).total_seconds() + FAILURE_WINDOW_S)
        return int(wait + 0.999)

    async def failed(self, *keys: tuple[str, int]) -> None:
        now = self.clock.now()
        digests = [_digest(k) for k, _ in keys]
        await self._store().run(lambda c: add_failures(
            c, digests, now, now - timedelta(seconds=FAILURE_WINDOW_S)))


def client_address(request: web.Request, trusted: Sequence[IPNetwork]) -> str:
    """The address a request comes from: behind a trusted proxy, the nearest address of
    X-Forwarded-For that is not itself a trusted proxy."""
    peer = request.remote or ""
    if not _within(peer, trusted):
        return peer
    chain = [a.strip() for header in request.headers.getall("X-Forwarded-For", [])
             for a in header.split(",") if a.strip()]
    for address in reversed(chain):
        if not _within(address, trusted):
            return address
    return chain[0] if chain else peer


def _within(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def bare_page(title: str, message: str = "", *, body: str = "", status: int = 200
              ) -> web.Response:
    """A page outside the signed-in layout: a plain-text ``message`` (escaped by the
    template), or ``body``, markup rendered from a template of its own."""
    return web.Response(status=status, content_type="text/html", charset="utf-8",
                        text=render("bare.html", title=title, message=message,
                                    body=Markup(body)))  # noqa: S704


def _login_form(csrf: str, message: str = "") -> str:
    return render("login.html", csrf=csrf, message=message)


class Auth:
    """The sign-in pages, the session middleware and who the current user is."""

    def __init__(self, store: Callable[[], Store], clock: Clock,
                 trusted_proxies: Sequence[str] = (), public_url: str | None = None) -> None:
        """``store``: gives the store once the service has opened it; ``trusted_proxies``:
        whose forwarding headers are believed; ``public_url``: https:// makes cookies Secure."""
        self._store, self.clock = store, clock
        self.throttle = Throttle(clock, store)
        self._trusted = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self._https = (public_url or "").startswith("https://")

    def _secure(self, request: web.Request) -> bool:
        forwarded = _within(request.remote or "", self._trusted) and \
            request.headers.get("X-Forwarded-Proto", "").lower() == "https"
        return request.secure or forwarded or self._https

    @property
    def store(self) -> Store:
        return self._store()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/login", self.login_page), web.post("/login", self.login),
                web.post("/logout", self.logout), web.get("/api/me", self.me)]

    async def login_page(self, request: web.Request) -> web.Response:
        csrf = secrets.token_urlsafe(32)
        response = bare_page("舆情监测与回应 · 登录", body=_login_form(csrf))
        response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="Strict",
                            secure=self._secure(request), path="/login")
        return response

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie or not secrets.compare_digest(str(form.get("csrf", "")), cookie):
            return bare_page("请求无效", "表单已过期，请刷新登录页后重试。", status=403)
        name = str(form.get("name", "")).strip()
        # a name is limited from each address, not everywhere: a stranger who guesses at the
        # duty officer's name slows himself down, never the duty officer
        address = client_address(request, self._trusted)
        keys = ((f"pair:{address}\n{name}", FAILURES_ALLOWED),
                (f"addr:{address}", ADDRESS_FAILURES_ALLOWED))
        wait = await self.throttle.retry_after(*keys)
        if wait:
            response = bare_page("登录尝试过多", f"请在 {wait // 60 + 1} 分钟后再试。", status=429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = await self.store.run(lambda c: user_by_name(c, name))
        password = str(form.get("password", ""))
        if user is None or user.disabled or not check_password(user.password_hash, password):
            await self.throttle.failed(*keys)
            return bare_page("舆情监测与回应 · 登录", body=_login_form(cookie, "用户名或密码错误。"),
                             status=401)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock.now()
        await self.store.run(lambda c: add_session(c, _digest(token), user.id, csrf, now,
                                                   now + SESSION_LIFETIME))
        response = web.HTTPSeeOther("/")
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict",
                            secure=self._secure(request), path="/",
                            max_age=int(SESSION_LIFETIME.total_seconds()))
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await self.store.run(lambda c: end_sessions(c, token_hash=_digest(token)))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    async def me(self, request: web.Request) -> web.Response:
        user = request.get(USER)
        if user is None:
            return web.json_response({"error": "not signed in"}, status=401)
        return web.json_response({"name": user.name, "display_name": user.display_name,
                                  "role": user.role, "csrf": request[CSRF]}, dumps=_dumps)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            found = await self.store.run(
                lambda c: session_user(c, _digest(token), self.clock.now()))
            if found is not None:
                request[USER], request[CSRF] = found
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith(EXEMPT):
            return await handler(request)
        if USER not in request:
            return web.json_response({"error": "sign in first"}, status=401)
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type in ("application/x-www-form-urlencoded",
                                                      "multipart/form-data"):
            given = str((await request.post()).get("csrf", ""))
        if not given or not secrets.compare_digest(given, request[CSRF]):
            return web.json_response({"error": "missing or wrong CSRF token"}, status=403)
        return await handler(request)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def require(*roles: str) -> Callable[[Handler], Handler]:
    """Only signed-in users with one of ``roles`` may call the handler."""
    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = request.get(USER)
            if user is None:
                return web.json_response({"error": "sign in first"}, status=401)
            if user.role not in roles:
                allowed = "、".join(ROLE_NAMES[r] for r in roles)
                return web.json_response({"error": f"only {', '.join(roles)} may do this",
                                          "message": f"仅{allowed}可执行此操作"}, status=403,
                                         dumps=_dumps)
            return await handler(request)
        return guarded
    return decorate


def signed_user(request: web.Request) -> User:
    """The signed-in user of a page request; a page for nobody sends them to sign in."""
    user: User | None = request.get(USER)
    if user is None:
        raise web.HTTPSeeOther("/login")
    return user
