"""A pool's worker process never outlives its parent, however the parent ends."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil

# The parent: a spawned pool as the service makes one, its worker's pid on stdout, then idle.
PARENT = """
import os, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from monitor.workers import follow_parent

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=follow_parent)
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(120)
"""


def gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def wait_until_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.1)
    return gone(pid)


def test_a_worker_exits_when_its_parent_is_killed() -> None:
    worker = 0
    with subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE,
                          text=True) as parent:
        try:
            assert parent.stdout is not None
            worker = int(parent.stdout.readline())
            assert worker != parent.pid
            time.sleep(1)
            assert not gone(worker)  # a live parent keeps its worker
            parent.send_signal(signal.SIGKILL)  # no cleanup of any kind runs in the parent
            parent.wait(10)
            assert wait_until_gone(worker, 10), "the worker outlived its killed parent"
        finally:
            parent.kill()
            if worker and not gone(worker):
                psutil.Process(worker).kill()
