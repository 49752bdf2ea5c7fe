"""The alerting configuration as one: channels, routing, roster and reports, each file
checked against the others. Every command that sends or reports loads it this way, so a
name that does not resolve is refused with its file and line before anything acts."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config import Settings
from monitor.evaluate.schedule import ReportsFile, load_reports
from monitor.notify.routing import Routing, load_routing
from monitor.notify.settings import ChannelsFile, load_channels
from monitor.response.roster import Roster, load_roster


@dataclass(frozen=True)
class Alerting:
    channels: ChannelsFile
    routing: Routing
    roster: Roster
    reports: ReportsFile


def load_alerting(settings: Settings) -> Alerting:
    roster = load_roster(settings.roster_path)
    channels = load_channels(settings.channels_path)
    routing = load_routing(settings.routing_path, channels, settings.channels_path)
    return Alerting(channels, routing, roster,
                    load_reports(settings.reports_path, roster, channels))
