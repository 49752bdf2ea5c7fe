"""alerts/channels.yaml: where alerts can go. Secrets are never in the file: each entry names
the environment variable that holds its key, token or password."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from monitor.config import PROJECT_DIR, Duration, read_yaml, validate
from monitor.errors import ConfigError

CHANNELS_PATH = PROJECT_DIR / "alerts" / "channels.yaml"
_ENV = Field(pattern=r"^[A-Z][A-Z0-9_]*$")


def _web_address(url: str) -> str:
    """An http(s) address with a host: a mistyped one is wrong at start-up, not a "transient"
    failure retried for ever."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(
            ch.isspace() for ch in url):
        raise ValueError(f"an http:// or https:// address with a host and no spaces "
                         f"(got {url!r})")
    return url


WebAddress = Annotated[str, AfterValidator(_web_address)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Channel(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    timeout: Duration = Field(default=10, gt=0)


class WeCom(_Channel):
    type: Literal["wecom"]
    key_env: Annotated[str, _ENV]  # the key= of the robot's webhook address
    base_url: WebAddress = "https://qyapi.weixin.qq.com"
    per_minute: int = Field(default=20, ge=1)


class DingTalk(_Channel):
    type: Literal["dingtalk"]
    token_env: Annotated[str, _ENV]  # the access_token of the robot's webhook address
    secret_env: Annotated[str, _ENV] | None = None  # 加签 secret, when the robot signs
    keyword: str | None = None  # the robot's keyword rule: every message carries it
    base_url: WebAddress = "https://oapi.dingtalk.com"
    per_minute: int = Field(default=20, ge=1)
    lockout: Duration = 600  # DingTalk throttles a robot for 10 minutes past its limit


class Feishu(_Channel):
    type: Literal["feishu"]
    token_env: Annotated[str, _ENV]  # the last part of the bot's webhook address
    secret_env: Annotated[str, _ENV] | None = None
    keyword: str | None = None
    base_url: WebAddress = "https://open.feishu.cn"
    per_minute: int = Field(default=100, ge=1)
    per_second: int = Field(default=5, ge=1)


class Email(_Channel):
    type: Literal["email"]
    host: str
    port: int = Field(default=465, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    username_env: Annotated[str, _ENV] | None = None
    password_env: Annotated[str, _ENV] | None = None
    sender: str


class Sms(_Channel):
    type: Literal["sms"]
    url: WebAddress
    # the JSON body, with {phone} and {text} filled in (JSON-escaped)
    body: str = '{"mobile": "{phone}", "content": "{text}"}'
    token_env: Annotated[str, _ENV] | None = None  # sent as "Authorization: Bearer …"
    max_chars: int = Field(default=300, ge=70)


class Webhook(_Channel):
    type: Literal["webhook"]
    url: WebAddress
    token_env: Annotated[str, _ENV] | None = None


ChannelSettings = Annotated[WeCom | DingTalk | Feishu | Email | Sms | Webhook,
                            Field(discriminator="type")]


class ChannelsFile(_Strict):
    channels: list[ChannelSettings] = Field(default_factory=list)
    admin: list[str] = Field(default_factory=list)  # where configuration faults are reported

    @model_validator(mode="after")
    def _names(self) -> ChannelsFile:
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ValueError(f"each channel name may appear once (got {names})")
        unknown = [a for a in self.admin if a not in names]
        if unknown:
            raise ValueError(f"`admin` names unknown channels: {', '.join(unknown)}")
        return self

    def get(self, name: str) -> ChannelSettings:
        for channel in self.channels:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channels) or "none"
        raise ConfigError(f"no channel {name!r} in the channels file (known: {known})")


def secret(env: str | None, channel: str) -> str | None:
    """The value of a secret's environment variable; a clear error when it is named but
    unset."""
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        raise ConfigError(f"channel {channel!r}: environment variable {env} is not set; "
                          f"export it with the robot's secret")
    return value


def load_channels(path: Path = CHANNELS_PATH) -> ChannelsFile:
    return validate(path, ChannelsFile, read_yaml(path))
