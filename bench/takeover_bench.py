"""How long the pipeline is without a leader when the leading process dies or is stopped.

Starts a scratch PostgreSQL server (Debian's binaries), two `monitor run` on it with the
shipped lease time (20 s, or --lease), then, several times: SIGKILL the leader (a machine
dying) or SIGTERM it (a restart), and time until the standby's /healthz says it leads. The
killed process is started again as the new standby before the next round.

    python bench/takeover_bench.py [--rounds 3] [--lease 20]
"""

# ruff: noqa: S603  (the commands run are the benchmark's own: monitor and PostgreSQL's tools)
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_postgres() -> tuple[str, list[str], Path, Path]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        sys.exit("PostgreSQL is not installed: apt-get install postgresql")
    binaries = found[-1].parent
    root = Path(tempfile.mkdtemp(prefix="pg"))
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "nobody")
    subprocess.run([*as_user, binaries / "initdb", "-D", root / "data", "-U", "postgres", "-A",
                    "trust", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*as_user, binaries / "pg_ctl", "-D", root / "data", "-l", root / "log", "-w",
                    "-o", f"-k {root} -c listen_addresses=''", "start"], check=True,
                   capture_output=True)
    return f"postgresql+psycopg://postgres@/postgres?host={root}", as_user, binaries, root


def role(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return str(json.load(resp).get("role"))
    except OSError:
        return None


def launch(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config),
                                 "--port", str(port), "--log-level", "warning"],
                                stdout=subprocess.DEVNULL, stderr=out)


def wait_for(port: int, wanted: str, limit: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if role(port) == wanted:
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"no {wanted} on port {port} after {limit:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lease", type=float, default=20.0)
    args = parser.parse_args()
    url, as_user, binaries, root = start_postgres()
    work = Path(tempfile.mkdtemp(prefix="takeover"))
    (work / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (work / "reports.yaml").write_text("enabled: false\n", encoding="utf-8")
    config = work / "monitor.yaml"
    config.write_text(f"database: {url}\nsources: sources.yaml\nreports: reports.yaml\n"
                      f"pipeline: {{lease: {args.lease}}}\n", encoding="utf-8")
    ports = [free_port(), free_port()]
    procs = [launch(config, ports[0], work / "a.log")]
    try:
        wait_for(ports[0], "leader")
        procs.append(launch(config, ports[1], work / "b.log"))
        wait_for(ports[1], "standby")
        print(f"lease {args.lease:g} s; two processes on one PostgreSQL database")
        for n in range(args.rounds):
            for how, sig in (("SIGKILL (machine dies)", signal.SIGKILL),
                             ("SIGTERM (restart)", signal.SIGTERM)):
                leader = 0 if role(ports[0]) == "leader" else 1
                procs[leader].send_signal(sig)
                stopped = time.monotonic()
                procs[leader].wait(60)
                wait_for(ports[1 - leader], "leader")
                took = time.monotonic() - stopped
                print(f"round {n + 1}, {how}: the standby led after {took:.1f} s")
                procs[leader] = launch(config, ports[leader], work / f"{leader}.log")
                wait_for(ports[leader], "standby")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        subprocess.run([*as_user, binaries / "pg_ctl", "-D", root / "data", "-m", "immediate",
                        "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
