"""The outbox sender: routes each outbox row to its channels, delivers with a lease, retries
what can succeed on retry, bundles what waits for a rate-limited robot into one digest, falls
back to another channel after repeated failures, and reports configuration faults to the
administrators on another channel. Delivery is at least once: a sender killed while sending
is found out by its expired lease, and the message goes out again marked 重发."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import aiohttp
from sqlalchemy import Connection

from monitor import failpoints
from monitor.clock import SHANGHAI, Clock
from monitor.notify.channels import Channel, Message, Outcome, Recipient, make_channel
from monitor.notify.render import HEADLINES, render
from monitor.notify.routing import Routing
from monitor.notify.settings import ChannelsFile, DingTalk, Feishu, WeCom
from monitor.records import TimelineEvent
from monitor.response.roster import Roster
from monitor.store import Store
from monitor.store.deliveries import (
    active_silence,
    add_deliveries,
    due,
    finish,
    has_delivery,
    lease,
    outbox_id_of,
    recent_sends,
    recover_leases,
    set_outbox_status,
    unrouted,
)
from monitor.store.incidents import (
    append_timeline,
    get_incident,
    incident_evidence,
    incident_plans,
)
from monitor.store.response import add_outbox
from monitor.waiting import until_woken
from monitor.wording import LEVELS

log = logging.getLogger(__name__)
LEASE_MARGIN_S = 5.0
MAX_ATTEMPTS = 8  # then the delivery is dead (its fallback, if any, has long been tried)
DIGEST_LINKS = 8
DIGEST_SIZE = 25  # alerts per digest, so that one fits a robot's 4 KB


class Limiter:
    """How many sends a channel may still make now: its per-minute (and per-second) windows,
    and any lock-out the platform announced."""

    def __init__(self, per_minute: int, per_second: int | None = None) -> None:
        self.per_minute, self.per_second = per_minute, per_second
        self.sent: deque[float] = deque()
        self.locked_until = 0.0

    def capacity(self, now: float) -> int:
        while self.sent and self.sent[0] <= now - 60:
            self.sent.popleft()
        if now < self.locked_until:
            return 0
        free = self.per_minute - len(self.sent)
        if self.per_second is not None:
            free = min(free, self.per_second - sum(1 for t in self.sent if t > now - 1))
        return max(0, free)

    def record(self, now: float) -> None:
        self.sent.append(now)


@dataclass(frozen=True)
class Links:
    """Where an alert's links point: the incident page, and a signed acknowledgement link."""

    incident: Callable[[int], str]
    ack: Callable[[dict[str, Any], str], str | None]


class Sender:
    def __init__(self, store: Store, channels: ChannelsFile, routing: Routing, roster: Roster,
                 clock: Clock, session: aiohttp.ClientSession, links: Links) -> None:
        self.store, self.routing, self.roster, self.clock = store, routing, roster, clock
        self.links = links
        self.settings = {c.name: c for c in channels.channels}
        self.admin = list(channels.admin)
        self.channels: dict[str, Channel] = {c.name: make_channel(c, session, clock)
                                             for c in channels.channels}
        self.limiters: dict[str, Limiter] = {}
        for c in channels.channels:
            if isinstance(c, WeCom | DingTalk):
                self.limiters[c.name] = Limiter(c.per_minute)
            elif isinstance(c, Feishu):
                self.limiters[c.name] = Limiter(c.per_minute, c.per_second)
        self._wake = asyncio.Event()
        self._seeded = False
        self._by_plan = any(rule.match.plans for rule in routing.rules)

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Route new outbox rows and deliver everything due; returns deliveries attempted."""
        now = self.clock.now()
        if not self._seeded:
            await self._seed_limiters(now)
        await self.store.run(lambda c: self._route(c, now))
        recovered = await self.store.run(lambda c: recover_leases(c, now))
        if recovered:
            log.warning("%d deliveries were being sent when a sender stopped; sending them "
                        "again, marked as resends", recovered)
        rows = await self.store.run(lambda c: due(c, now))
        by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_channel[row["channel"]].append(row)
        counts = await asyncio.gather(*(self._deliver(name, group)
                                        for name, group in by_channel.items()))
        return sum(counts)

    async def _seed_limiters(self, now: datetime) -> None:
        """Sends of the last minute count after a restart too."""
        for name, limiter in self.limiters.items():
            sent = await self.store.run(partial(recent_sends, channel=name,
                                                since=now - timedelta(seconds=60)))
            for at in sorted(sent):
                limiter.record(at.timestamp())
        self._seeded = True

    def _route(self, conn: Connection, now: datetime) -> None:
        for row in unrouted(conn):
            incident = get_incident(conn, row["incident_id"])
            silence = active_silence(conn, row["incident_id"], now)
            if silence is not None and not _overrides_silence(row):
                set_outbox_status(conn, row["id"], "silenced")
                append_timeline(conn, [TimelineEvent(row["incident_id"], now, "silenced",
                                                     "system", {
                    "silence": silence["id"], "owner": silence["owner"],
                    "reason": silence["reason"], "for": row["kind"], "person": row["person"],
                    "until": silence["expires_at"].astimezone(SHANGHAI).isoformat()})])
                continue
            plans = incident_plans(conn, row["incident_id"]) if self._by_plan else set()
            wanted = [c for c in self.routing.channels(row, incident, plans)
                      if self._reaches(c, row)]
            if not wanted:
                set_outbox_status(conn, row["id"], "dead", error="no channel of the routing "
                                  "rules reaches this person")
                append_timeline(conn, [TimelineEvent(row["incident_id"], now, "delivery_failed",
                                                     "system", {"person": row["person"],
                                                                "for": row["kind"],
                                                                "error": "no channel"})])
                continue
            quiet = self.routing.quiet_hours
            for channel in wanted:
                held = quiet.release(row["data"].get("level"), channel, now) if quiet else None
                add_deliveries(conn, row["id"], [channel], held or now)
            set_outbox_status(conn, row["id"], "routed")

    def _reaches(self, channel: str, row: dict[str, Any]) -> bool:
        settings = self.settings.get(channel)
        if settings is None:
            return False
        if settings.type == "email":
            return "email" in row["channels"]
        if settings.type == "sms":
            return "phone" in row["channels"]
        return True

    async def _deliver(self, name: str, rows: list[dict[str, Any]]) -> int:
        channel = self.channels.get(name)
        if channel is None:
            await self.store.run(lambda c: self._fail(c, rows, Outcome.broken(
                f"channel {name!r} is not in the channels file"), name))
            return 0
        limiter = self.limiters.get(name)
        now = self.clock.now().timestamp()
        room = limiter.capacity(now) if limiter else len(rows)
        if room <= 0:
            return 0
        # a robot posts in a group everybody reads: one alert to several people is one
        # message mentioning them all, not one message each
        robot = isinstance(self.settings[name], WeCom | DingTalk | Feishu)
        units = _bundles(rows) if robot else [[r] for r in rows]
        # more waiting than the robot takes now: digests instead of dropping or delaying
        if limiter and len(units) > room:
            groups = [units[i:i + DIGEST_SIZE] for i in range(0, len(units), DIGEST_SIZE)][:room]
        else:
            groups = [[u] for u in units[:room]]
        # the lease outlives the send's own timeout, so a lease that runs out means the
        # sender died while sending
        lease_s = self.settings[name].timeout + LEASE_MARGIN_S
        attempted = 0
        for waiting in groups:
            until = self.clock.now() + timedelta(seconds=lease_s)
            taken = set(await self.store.run(partial(
                lease, ids=[r["id"] for u in waiting for r in u], until=until)))
            held = [kept for u in waiting if (kept := [r for r in u if r["id"] in taken])]
            if not held:
                continue
            group = [r for u in held for r in u]
            attempted += len(group)
            failpoints.hit("notify.after_lease")
            outcome = await channel.send(self._message(held, name))
            failpoints.hit("notify.after_send")
            if limiter is not None:
                limiter.record(self.clock.now().timestamp())
                if outcome.retry_after and not outcome.delivered:
                    limiter.locked_until = self.clock.now().timestamp() + outcome.retry_after
            await self.store.run(partial(self._record, group=group, outcome=outcome, name=name))
        return attempted

    def _message(self, units: list[list[dict[str, Any]]], channel: str) -> Message:
        """One alert (to one person, or to several on a group robot) or a digest of many."""
        first = units[0][0]
        if len(units) == 1:
            bundle = units[0]
            incident, evidence = self.store.transaction(lambda c: (
                get_incident(c, first["incident_id"]),
                incident_evidence(c, first["incident_id"])))
            message = render(first["kind"], first["data"], incident, self._recipient(first),
                             self.links.incident(first["incident_id"]),
                             self.links.ack(first, channel), resend=bool(first["resend"]),
                             evidence=evidence, now=self.clock.now())
            if len(bundle) == 1:
                return message
            # each person acknowledges with a link of their own, as they would alone
            own = [message.links[0]] + [
                (f"确认收到（{self._recipient(r).name}）", ack) for r in bundle
                if (ack := self.links.ack(r, channel)) is not None][:DIGEST_LINKS]
            return replace(message, links=tuple(own),
                           also=tuple(self._recipient(r) for r in bundle[1:]))
        lines = []
        for unit in units:
            row, data = unit[0], unit[0]["data"]
            level = LEVELS.get(str(data.get("level")), "待定级")
            due_label = f"，{data['label']}" if data.get("label") else ""
            names = "、".join(dict.fromkeys(self._recipient(r).name for r in unit))
            lines.append(f"{'【重发】' if row['resend'] else ''}"
                         f"{HEADLINES.get(row['kind'], '提醒')}：{data.get('title', '')}"
                         f"（{level}{due_label}）→ {names}")
        # each incident's page and, from its first alert, the link that acknowledges it
        rows = [r for u in units for r in u]
        firsts = list({r["incident_id"]: r for r in reversed(rows)}.values())[::-1]
        links: list[tuple[str, str]] = []
        for row in firsts[:DIGEST_LINKS]:
            links.append((f"事件#{row['incident_id']}", self.links.incident(row["incident_id"])))
            if (ack := self.links.ack(row, channel)) is not None:
                links.append((f"确认#{row['incident_id']}", ack))
        people = tuple(self._recipient(r) for r in rows)
        return Message(f"舆情提醒汇总（{len(units)}条）", tuple(lines), tuple(links), None,
                       also=people)

    def _recipient(self, row: dict[str, Any]) -> Recipient:
        person = self.roster.person(row["person"])
        name = person.name if person else row["person"]
        a = row.get("addresses") or row.get("channels") or {}
        return Recipient(name, a.get("wecom"), a.get("dingtalk"), a.get("feishu"),
                         a.get("phone"), a.get("email"))

    def _record(self, conn: Connection, group: list[dict[str, Any]], outcome: Outcome,
                name: str) -> None:
        now = self.clock.now()
        ids = [r["id"] for r in group]
        if outcome.delivered:
            finish(conn, ids, {"status": "sent", "sent_at": now, "lease_until": None,
                               "digest_id": ids[0] if len(ids) > 1 else None,
                               "last_error": None})
            for row in group:
                set_outbox_status(conn, row["outbox_id"], "sent", at=now)
            return
        if outcome.fault:
            self._fail(conn, group, outcome, name)
            return
        for row in group:
            attempts = row["attempts"] + 1
            if attempts >= MAX_ATTEMPTS:
                self._fail(conn, [row], outcome, name)
                continue
            backoff = min(600.0, 30.0 * 2 ** (attempts - 1))
            finish(conn, [row["id"]], {
                "status": "pending", "attempts": attempts, "lease_until": None,
                "last_error": outcome.detail[:500],
                "next_attempt_at": now + timedelta(seconds=max(outcome.retry_after or 0,
                                                               backoff))})
            other = self.routing.fallback.get(name)
            if (attempts == self.routing.fallback_after and other
                    and not has_delivery(conn, row["outbox_id"], other)):
                add_deliveries(conn, row["outbox_id"], [other], now)
                log.warning("alert %s: %d failures on %s; also sending on %s", row["key"],
                            attempts, name, other)

    def _fail(self, conn: Connection, group: list[dict[str, Any]], outcome: Outcome,
              name: str) -> None:
        """A delivery that no retry will cure: dead, on the timeline, and the administrators
        told on their other channels."""
        now = self.clock.now()
        finish(conn, [r["id"] for r in group], {"status": "dead", "lease_until": None,
                                                 "last_error": outcome.detail[:500]})
        events, alerts = [], []
        for row in group:
            set_outbox_status(conn, row["outbox_id"], "dead", error=outcome.detail[:500])
            events.append(TimelineEvent(row["incident_id"], now, "delivery_failed", "system", {
                "channel": name, "person": row["person"], "for": row["kind"],
                "error": outcome.detail[:300], "fault": outcome.fault}))
        log.error("channel %s: %s (%d alerts dead); the administrators are told", name,
                  outcome.detail, len(group))
        # a failed report of a failure is not reported again: that way lies a loop
        admins = [] if all(r["kind"] == "delivery_fault" for r in group) else self.admin
        # the fault reaches a person: the duty officer on duty now, at the addresses the
        # roster gives (an e-mail admin channel needs an address, a robot a name to mention)
        on_duty = self.roster.on_duty("duty_officer", now)
        person = on_duty[0] if on_duty else None
        for admin in (a for a in admins if a != name):
            first = group[0]
            alerts.append({"key": f"fault:{first['id']}:{admin}",
                           "incident_id": first["incident_id"], "created_at": now,
                           "kind": "delivery_fault", "person": person.id if person else "admin",
                           "role": "admin",
                           "channels": person.channels() if person else {}, "data": {
                               "title": f"通道 {name} 发送失败，请检查配置", "level": None,
                               "label": None, "channel": name, "error": outcome.detail[:300]},
                           "next_attempt_at": now})
        append_timeline(conn, events)
        if alerts:
            add_outbox(conn, alerts)
            # straight to the admin channel, whatever the routing rules say
            for alert in alerts:
                outbox_id = outbox_id_of(conn, alert["key"])
                add_deliveries(conn, outbox_id, [alert["key"].rsplit(":", 1)[1]], now)
                set_outbox_status(conn, outbox_id, "routed")

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sender failed; the alerts stay in the outbox and are retried")
            await until_woken(self._wake, 1.0)


def _bundles(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows of one alert told to several people at once (one due action's ``tell``: their
    keys differ only in the person) together, in the order the first of each came."""
    bundles: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for row in rows:
        key = str(row["key"])
        occasion = key.rsplit(":", 1)[0] if key.startswith("due:") else key
        bundles.setdefault((occasion, bool(row["resend"])), []).append(row)
    return list(bundles.values())


def _overrides_silence(row: dict[str, Any]) -> bool:
    """A missed hard deadline of a major incident reaches leadership even under a silence."""
    return (row["kind"] == "escalated" and row["data"].get("reason") == "deadline_missed"
            and row["data"].get("level") in ("I", "II"))
