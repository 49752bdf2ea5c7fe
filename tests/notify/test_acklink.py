"""Acknowledgement links: signed, expiring, and refused when altered."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from monitor.clock import SHANGHAI
from monitor.notify.acklink import AckClaim, AckLinkError, sign, verify

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
SECRET = b"a-secret-from-the-environment"


def claim() -> AckClaim:
    return AckClaim(41, 7, "duty-a", "duty-wecom", NOW + timedelta(hours=12))


def test_a_signed_link_verifies_until_it_expires() -> None:
    token = sign(SECRET, claim())
    assert verify(SECRET, token, NOW) == claim()
    assert verify(SECRET, token, NOW + timedelta(hours=11, minutes=59)).person == "duty-a"
    with pytest.raises(AckLinkError, match="expired"):
        verify(SECRET, token, NOW + timedelta(hours=12))


def test_altered_forged_or_garbled_links_are_refused() -> None:
    token = sign(SECRET, claim())
    mac = token.split(".")[1]
    other = sign(SECRET, AckClaim(41, 7, "director", "duty-wecom", claim().expires))
    with pytest.raises(AckLinkError, match="signature"):
        verify(SECRET, f"{other.split('.')[0]}.{mac}", NOW)  # someone else's name
    with pytest.raises(AckLinkError, match="signature"):
        verify(b"another-secret", token, NOW)
    for garbled in ("", "abc", "abc.", "@@@.###"):
        with pytest.raises(AckLinkError):
            verify(SECRET, garbled, NOW)
