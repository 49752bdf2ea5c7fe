"""Fail points: named places where a test can have the process killed (SIGKILL), to prove
that a crash there loses nothing and repeats nothing.

``MONITOR_FAILPOINTS="response.after_claim=3"`` kills the process the third time it passes
that point. Unset in production; passing a point then costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def _armed() -> dict[str, int]:
    armed = {}
    for part in os.environ.get("MONITOR_FAILPOINTS", "").split(","):
        name, _, nth = part.strip().partition("=")
        if name:
            armed[name] = int(nth or 1)
    return armed


_ARMED = _armed()


def hit(name: str) -> None:
    if name not in _ARMED:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == _ARMED[name]:
        os.kill(os.getpid(), signal.SIGKILL)
