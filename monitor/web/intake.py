"""人工立案 on the dashboard: the form a duty officer fills in when a call, an order from above
or a journalist's question comes in (GET and POST /incidents/new), and the 立案 button of an
item on the search page (POST /items/{id}/open). Both go through IncidentStage.open_by_hand,
as `monitor incident open` does: the incident, its items and its timeline (by whom, when,
through which channel) are written at once, and the engine takes the incident over so that the
story's later posts join it. The signed-in user is the one who opened it; auth's middleware
has checked the CSRF token before a handler here runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Connection, select

from monitor.clock import SHANGHAI, Clock
from monitor.incidents.engine import ActionError
from monitor.incidents.intake import CHANNELS, MAX_TEXT, MAX_TITLE, Intake
from monitor.incidents.stage import IncidentStage
from monitor.response.roster import Roster
from monitor.store import Store
from monitor.store.incidents import incidents_of_items
from monitor.store.schema import items
from monitor.web.auth import CSRF, signed_user
from monitor.web.pages import ACTORS, html_page
from monitor.web.templates import render
from monitor.wording import LEVELS

TITLE = "人工立案"
FIELDS = ("title", "text", "channel", "at", "occurred", "level", "region", "item_urls")
FOUND_BY_LOOKING = "网络巡查"  # an item opened from the search page was found by a person
MINUTE = "%Y-%m-%dT%H:%M"  # what <input type=datetime-local> shows and sends


class FormError(ValueError):
    """A value of the form that cannot be read, said in Chinese for the duty officer."""


class IntakeForms:
    def __init__(self, store: Store, incidents: IncidentStage, roster: Roster,
                 clock: Clock) -> None:
        self.store, self.incidents, self.clock = store, incidents, clock
        # staff on the roster are named in a report as who acted, never masked, as in
        # reports.context_for; anyone else's name is a private person's
        self.public_names = frozenset(p.name for p in roster.people)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/incidents/new", self.form), web.post("/incidents/new", self.open),
                web.post(r"/items/{id:\d+}/open", self.open_item)]

    async def form(self, request: web.Request) -> web.Response:
        user = _actor(request)
        now = self.clock.now().astimezone(SHANGHAI)
        blank = dict.fromkeys(FIELDS, "") | {"channel": CHANNELS[0],
                                             "at": now.strftime(MINUTE)}
        return self._page(request, user, blank)

    async def open(self, request: web.Request) -> web.Response:
        user = _actor(request)
        posted = await request.post()
        values = {name: str(posted.get(name, "")) for name in FIELDS}
        try:
            intake = self._intake(values, user.display_name)
            incident = await self.incidents.open_by_hand(intake, report=True,
                                                         public_names=self.public_names)
        except (FormError, ActionError) as exc:
            # the form again with what was entered, so that nothing has to be typed twice
            return self._page(request, user, values, str(exc), status=400)
        raise web.HTTPSeeOther(f"/incidents/{incident.id}")

    async def open_item(self, request: web.Request) -> web.Response:
        user = _actor(request)
        item_id = int(request.match_info["id"])

        def read(conn: Connection) -> tuple[Any, int | None]:
            row = conn.execute(select(items.c.url, items.c.title)
                               .where(items.c.id == item_id)).first()
            return row, incidents_of_items(conn, [item_id]).get(item_id)

        row, filed = await self.store.run(read)
        if row is None:
            raise web.HTTPNotFound(text="没有这条信息")
        if filed is not None:
            # filed meanwhile (by detection, or by a colleague's 立案): that incident is where
            # the work on this post goes on, and its timeline says who opened it
            raise web.HTTPSeeOther(f"/incidents/{filed}")
        intake = Intake(title=_title_of(row.title), by=user.display_name, at=self.clock.now(),
                        channel=FOUND_BY_LOOKING, item_urls=(row.url,))
        try:
            incident = await self.incidents.open_by_hand(intake, report=False,
                                                         public_names=self.public_names)
        except ActionError as exc:
            body = render("refused.html", reason=str(exc), back="/items")
            response = html_page("无法立案", body, user, request[CSRF], self.clock.now())
            response.set_status(409)
            return response
        raise web.HTTPSeeOther(f"/incidents/{incident.id}")

    def _intake(self, values: Mapping[str, str], by: str) -> Intake:
        """The form's values as an intake; check() and the store say what else is wrong."""
        occurred = _time(values["occurred"], "发生时间")
        urls = tuple(line.strip() for line in values["item_urls"].splitlines() if line.strip())
        return Intake(title=values["title"].strip(), by=by,
                      at=_time(values["at"], "获知时间") or self.clock.now(),
                      channel=values["channel"], text=values["text"].strip(), occurred=occurred,
                      level=values["level"] or None, item_urls=urls,
                      region=values["region"].strip() or None)

    def _page(self, request: web.Request, user: Any, values: Mapping[str, str],
              error: str = "", status: int = 200) -> web.Response:
        body = render("intake.html", form=values, error=error, csrf=request[CSRF],
                      channels=CHANNELS, levels=LEVELS, max_title=MAX_TITLE, max_text=MAX_TEXT)
        response = html_page(TITLE, body, user, request[CSRF], self.clock.now())
        response.set_status(status)
        return response


def _actor(request: web.Request) -> Any:
    user = signed_user(request)
    if user.role not in ACTORS:
        raise web.HTTPForbidden(text="仅值班员、管理员可人工立案")
    return user


def _time(value: str, what: str) -> datetime | None:
    """A time of the form: datetime-local sends no zone, and the office's clocks are Beijing
    time; one given with its zone keeps it."""
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FormError(f"{what}格式不正确（{value}），请按“年-月-日 时:分”填写") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=SHANGHAI)


def _title_of(title: str) -> str:
    """An item's title as its incident's: a post without a title of its own carries its whole
    text there, and an intake refuses a title over MAX_TITLE characters."""
    title = title.strip()
    return title if len(title) <= MAX_TITLE else title[:MAX_TITLE - 1] + "…"
