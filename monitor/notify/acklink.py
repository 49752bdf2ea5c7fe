"""Signed, expiring, single-use acknowledgement links. A robot's message can open a URL but
not call back, so the alert carries a link into the web app; the token says which alert,
for whom and through which channel, until when, and is signed with HMAC-SHA256 so nobody can
forge or alter one. Single use is the web app's part: the acknowledgement it records names
the token's id, and a token whose id was used is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime


class AckLinkError(ValueError):
    """A token that is malformed, forged, altered or expired."""


@dataclass(frozen=True)
class AckClaim:
    outbox_id: int
    incident_id: int
    person: str
    channel: str
    expires: datetime

    @property
    def token_id(self) -> str:
        return f"{self.outbox_id}:{self.channel}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, claim: AckClaim) -> str:
    payload = _b64(json.dumps({"o": claim.outbox_id, "i": claim.incident_id, "p": claim.person,
                               "c": claim.channel, "e": int(claim.expires.timestamp())},
                              ensure_ascii=False, separators=(",", ":")).encode())
    mac = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(secret: bytes, token: str, now: datetime) -> AckClaim:
    payload, _, mac = token.partition(".")
    if not payload or not mac:
        raise AckLinkError("not an acknowledgement link")
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    try:
        given = _unb64(mac)
        fields = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        raise AckLinkError("not an acknowledgement link") from None
    if not hmac.compare_digest(given, expected):
        raise AckLinkError("the link's signature does not match; it was altered or forged")
    expires = datetime.fromtimestamp(int(fields["e"]), tz=now.tzinfo)
    if now >= expires:
        raise AckLinkError(f"the link expired at {expires.isoformat()}")
    return AckClaim(int(fields["o"]), int(fields["i"]), str(fields["p"]), str(fields["c"]),
                    expires)
