"""`monitor alerts test CHANNEL`: send a test message and print the platform's reply."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import click

from monitor import cli_options
from monitor.clock import WallClock
from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.notify.alerting import load_alerting
from monitor.notify.channels import Outcome, Recipient, make_channel
from monitor.notify.render import render
from monitor.store.deliveries import due


@click.group()
def alerts() -> None:
    """Alert channels."""


@alerts.command("test")
@click.argument("channel")
@click.option("--to", "person", help="A person of the roster (default: the duty officer on "
                                     "duty now); e-mail and SMS go to their address.")
@cli_options.config
def test_command(channel: str, person: str | None, config: Path | None) -> None:
    """Send a test message through CHANNEL and print the platform's reply."""
    settings = load_settings(config)
    alerting = load_alerting(settings)
    chosen, roster = alerting.channels.get(channel), alerting.roster
    clock = WallClock()
    if person is not None:
        found = roster.person(person)
        if found is None:
            raise ConfigError(f"no person {person!r} in {settings.roster_path}")
    else:
        on_duty = roster.on_duty("duty_officer", clock.now())
        found = on_duty[0] if on_duty else None
    to = Recipient(found.name, found.wecom, found.dingtalk, found.feishu, found.phone,
                   found.email) if found else None
    when = clock.now().strftime("%Y-%m-%d %H:%M")
    message = render("test", {"title": f"{chosen.name} 通道测试 {when}"}, None, to,
                     "https://example.invalid/", None)

    async def send() -> Outcome:
        async with aiohttp.ClientSession() as session:
            return await make_channel(chosen, session, clock).send(message)

    outcome = asyncio.run(send())
    verdict = ("delivered" if outcome.delivered else
               "configuration fault, not retried" if outcome.fault else
               f"failed, worth a retry after {outcome.retry_after:.0f} s")
    click.echo(f"{chosen.name} ({chosen.type}): {verdict}")
    click.echo(f"reply: {outcome.detail}")
    if not outcome.delivered:
        sys.exit(1)


@alerts.command("send")
@click.option("--for", "seconds", type=float, default=0.0,
              help="Keep sending for this long (default: until nothing is due).")
@cli_options.config
@cli_options.db
def send_command(seconds: float, config: Path | None, db: str | None) -> None:
    """Deliver what waits in the outbox, then exit: what the service does continuously, once
    (to catch up, or to drain the outbox while the service is stopped)."""
    from monitor.notify.sender import Links, Sender
    from monitor.notify.web import ack_secret, ack_url
    from monitor.store import Store

    settings = load_settings(config, database=db)
    alerting = load_alerting(settings)
    channels, routing, roster = alerting.channels, alerting.routing, alerting.roster
    public = settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"
    clock = WallClock()
    secret_value = ack_secret()
    store = Store(settings.database_url)

    async def drain() -> int:
        async with aiohttp.ClientSession() as session:
            sender = Sender(store, channels, routing, roster, clock, session, Links(
                lambda i: f"{public.rstrip('/')}/incidents/{i}",
                lambda row, channel: ack_url(public, secret_value, clock, row, channel)))
            total, started = 0, clock.now()
            while True:
                done = await sender.run_once()
                total += done
                elapsed = (clock.now() - started).total_seconds()
                if (seconds and elapsed >= seconds) or (not seconds and not done):
                    return total
                await asyncio.sleep(0.2)

    try:
        total = asyncio.run(drain())
        waiting = store.transaction(lambda c: len(due(c, clock.now() + timedelta(days=365))))
    finally:
        store.close()
    click.echo(f"{total} deliveries attempted; {waiting} still waiting")
