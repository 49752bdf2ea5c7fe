"""alerts/reports.yaml: when the daily report goes out and to whom. Every person and channel
it names is checked against the roster and the channels file when the service starts."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from monitor.config import YamlDoc, line_of, read_yaml, validate
from monitor.errors import ConfigError
from monitor.notify.settings import ChannelsFile, Email
from monitor.response.roster import Roster

_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _time_of_day(value: object) -> object:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads 8:30 without quotes as a number in base 60 (510); pydantic turns
        # ValueError, not TypeError, into a validation message
        raise ValueError('a time of day in quotes, such as "08:30"')  # noqa: TRY004
    match = _HH_MM.match(str(value).strip())
    if not match:
        raise ValueError('a time of day HH:MM, such as "08:30"')
    return time(int(match[1]), int(match[2]))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DailySettings(_Strict):
    at: Annotated[time, BeforeValidator(_time_of_day)] = time(8, 30)  # Beijing time
    email: list[str] = Field(default_factory=list)  # roster person ids
    robots: list[str] = Field(default_factory=list)  # channel names
    mail_channel: str | None = None  # needed only when channels.yaml has several e-mail ones


class ReportsFile(_Strict):
    enabled: bool = True
    daily: DailySettings = Field(default_factory=DailySettings)


def load_reports(path: Path, roster: Roster, channels: ChannelsFile) -> ReportsFile:
    """The file, with every person and channel it names checked against the roster and the
    channels file: a wrong name stops the service at start, not a report months later."""
    loaded = read_yaml(path)
    reports = validate(path, ReportsFile, loaded)
    if reports.enabled:  # when nobody is sent anything, the names are not checked
        _check_names(path, loaded, reports, roster, channels)
    return reports


def _check_names(path: Path, loaded: YamlDoc, reports: ReportsFile, roster: Roster,
                 channels: ChannelsFile) -> None:
    daily = reports.daily
    by_name = {c.name: c for c in channels.channels}
    problems = []

    def where(*loc: str | int) -> str:
        return f"{path}:{line_of(loaded.node, ('daily', *loc))}"

    for n, person_id in enumerate(daily.email):
        person = roster.person(person_id)
        if person is None:
            known = ", ".join(p.id for p in roster.people)
            problems.append(f"{where('email', n)}: daily.email: no person {person_id!r} in the "
                            f"roster (known: {known}); use an id from roster.yaml or add the "
                            "person there")
        elif not person.email:
            problems.append(f"{where('email', n)}: daily.email: {person_id!r} ({person.name}) "
                            "has no `email` in the roster; add one there or remove them here")
    for n, name in enumerate(daily.robots):
        channel = by_name.get(name)
        if channel is None:
            problems.append(f"{where('robots', n)}: daily.robots: no channel {name!r} in the "
                            f"channels file (known: {', '.join(by_name) or 'none'}); use a "
                            "channel name from channels.yaml or add the channel there")
        elif channel.type == "email":
            problems.append(f"{where('robots', n)}: daily.robots: {name!r} is an e-mail "
                            "channel; list the people to mail under daily.email instead")
        elif channel.type == "sms":
            problems.append(f"{where('robots', n)}: daily.robots: {name!r} is an SMS gateway, "
                            "which texts one person; name a group robot or a webhook")
    if daily.email:
        try:
            mail_settings(reports, channels)
        except ConfigError as exc:
            problems.append(f"{where('mail_channel')}: {exc}")
    if problems:
        raise ConfigError("\n".join(problems))


def mail_settings(reports: ReportsFile, channels: ChannelsFile) -> Email:
    """The e-mail channel the report is sent with."""
    named = reports.daily.mail_channel
    mailers = [c for c in channels.channels if isinstance(c, Email)]
    if named is not None:
        chosen = [c for c in mailers if c.name == named]
        if not chosen:
            raise ConfigError(f"daily.mail_channel: {named!r} is not an e-mail channel of the "
                              f"channels file (e-mail channels: "
                              f"{', '.join(c.name for c in mailers) or 'none'})")
        return chosen[0]
    if not mailers:
        raise ConfigError("daily.email needs an e-mail channel (type: email) in the channels "
                          "file; add one there")
    if len(mailers) > 1:
        raise ConfigError(f"the channels file has several e-mail channels "
                          f"({', '.join(c.name for c in mailers)}); name the one to send the "
                          "report with in daily.mail_channel")
    return mailers[0]
