"""What every worker process of the service's process pools does first."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import wait


def follow_parent() -> None:
    """In a pool's worker: leave Ctrl-C and SIGTERM to the parent, which stops the pool in
    order, and exit as soon as the parent is gone, however it ended. Otherwise a worker waits on
    its task queue for ever once its parent is killed or exits without shutting its pool down,
    and a SIGTERM to the whole process group (what systemd sends) kills workers mid-task,
    leaving the parent's pool broken and its exit hanging."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing
        return
    threading.Thread(target=_exit_with, args=(parent.sentinel,), name="exit-with-parent",
                     daemon=True).start()


def _exit_with(sentinel: int) -> None:
    wait([sentinel])
    os._exit(0)  # the parent is gone: nobody is left to take a result or stop this in order
