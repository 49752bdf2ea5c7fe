"""Classifying JSON Lines, the work of `monitor classify --jsonl`.

Lines are read and classified a chunk at a time, and the results are written in input order.
A long input goes on in a second process too, once that process has loaded the models (about a
second): the helper takes a chunk whenever it has fewer than two in hand, and this process
classifies the rest, so both cores work. Should the helper die, its chunks are classified here:
no line is lost.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from monitor.analyze.analyzer import Analyzer, load_analyzer
from monitor.gc_thresholds import collect_less
from monitor.records import Signal
from monitor.workers import follow_parent

log = logging.getLogger(__name__)
CHUNK = 1000
SECOND_PROCESS_AFTER = 2 * CHUNK  # a shorter input is done before a helper could start
AHEAD = 2  # chunks handed to the helper and not yet back
HELD = 8  # results waiting behind the helper's oldest chunk before this process waits for it

Numbered = Sequence[tuple[int, str]]
Done = tuple[list[str], list[str]]  # output lines, error messages


@dataclass(frozen=True)
class ModelPaths:
    """Where the helper loads the same analyzer from."""

    profile: Path
    plans: Path
    models_dir: Path


def signal_json(ident: Any, signal: Signal) -> dict[str, Any]:
    return {"id": ident, "health": signal.health, "health_score": signal.health_score,
            "topics": [{"name": t.key, "score": t.score} for t in signal.topics],
            "negative": signal.negative, "tone_terms": list(signal.tone_terms),
            "risk": signal.risk, "risk_terms": list(signal.risk_terms),
            "plans": [{"name": p.name, "matched": list(p.matched)} for p in signal.plans],
            "places": list(signal.places)}


def classify_chunk(analyzer: Analyzer, chunk: Numbered) -> Done:
    """One result line per readable line, and a message naming each unreadable one."""
    errors, items = [], []
    for number, line in chunk:
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise TypeError("not a JSON object")
            title, body = record.get("title") or "", record.get("text") or ""
            if not isinstance(title, str) or not isinstance(body, str):
                raise TypeError('"title" and "text" must be strings')
        except (ValueError, TypeError) as exc:
            errors.append(f"error: stdin line {number}: {exc}; expected "
                          '{"id": …, "title": "…", "text": "…"}')
            continue
        items.append((record.get("id"), title, body))
    signals = analyzer.analyze([(title, body) for _, title, body in items])
    out = [json.dumps(signal_json(ident, signal), ensure_ascii=False)
           for (ident, _, _), signal in zip(items, signals, strict=True)]
    return out, errors


@dataclass
class Classified:
    unreadable: int = 0  # lines that were not a JSON object with string title and text
    by_helper: int = 0  # chunks the second process classified


def classify_lines(analyzer: Analyzer, lines: Iterable[str], write: Callable[[str], Any],
                   warn: Callable[[str], Any], paths: ModelPaths | None = None) -> Classified:
    """Classify JSON Lines {"id", "title", "text"}; ``write`` takes the results, ``warn`` the
    messages about unreadable lines. With ``paths``, a long input is shared with a helper
    process."""
    numbered = ((n, line) for n, line in enumerate(lines, 1) if line.strip())
    chunks = iter(lambda: list(islice(numbered, CHUNK)), [])
    pending: deque[tuple[Numbered, Done | None]] = deque()  # None: with the helper
    helper: _Helper | None = None
    seen = 0
    summary = Classified()

    def put(done: Done) -> None:
        out, errors = done
        summary.unreadable += len(errors)
        for message in errors:
            warn(message)
        if out:
            write("\n".join(out) + "\n")

    def drain(wait: bool) -> None:
        # the helper answers in order, so its oldest chunk in hand is the first one pending
        while pending:
            chunk, result = pending[0]
            if result is None:
                if helper and not wait and not helper.answered() and len(pending) <= HELD:
                    return
                done = helper.result() if helper else None
                summary.by_helper += done is not None
                # should the helper have failed, its chunk is done here
                result = done if done is not None else classify_chunk(analyzer, chunk)
            pending.popleft()
            put(result)

    try:
        for chunk in chunks:
            seen += len(chunk)
            if helper is None and paths is not None and seen > SECOND_PROCESS_AFTER:
                helper = _Helper(paths)
            if helper and helper.in_hand < AHEAD and helper.ready():
                helper.submit(chunk)
                pending.append((chunk, None))
            else:
                pending.append((chunk, classify_chunk(analyzer, chunk)))
            drain(wait=False)
        drain(wait=True)
    finally:
        if helper is not None:
            helper.close()
    return summary


class _Helper:
    """A second process with its own analyzer, fed chunks through one pipe and answering
    through another, in order. This process keeps no copy of the end the helper writes to, so
    the helper's death, even halfway through an answer, reads as the end of the pipe rather
    than a wait for ever. A thread on each side moves the chunks, so that neither process waits
    for the other to hand one over."""

    def __init__(self, paths: ModelPaths) -> None:
        context = get_context("spawn")
        tasks_out, self._tasks = context.Pipe(duplex=False)
        self._results, results_in = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(paths, tasks_out, results_in),
                                        name="classify-helper", daemon=True)
        self._process.start()
        tasks_out.close()
        results_in.close()
        self._outbox: queue.SimpleQueue[Numbered | None] = queue.SimpleQueue()
        threading.Thread(target=_hand_over, args=(self._outbox, self._tasks),
                         name="chunks-out", daemon=True).start()
        self._loaded = False
        self.alive = True
        self.in_hand = 0

    def ready(self) -> bool:
        """Whether the helper has loaded its models and takes chunks."""
        if self.alive and not self._loaded:
            try:
                self._loaded = self._results.poll() and self._results.recv() == _READY
            except (EOFError, OSError) as exc:
                self._fail(exc)
        return self.alive and self._loaded

    def submit(self, chunk: Numbered) -> None:
        self._outbox.put(chunk)  # if the helper is gone, result() says so
        self.in_hand += 1

    def answered(self) -> bool:
        """Whether the oldest chunk in hand is done (or the helper is gone)."""
        try:
            return not self.alive or self._results.poll()
        except OSError:
            return True

    def result(self) -> Done | None:
        """The oldest chunk in hand, classified; None once the helper has failed."""
        if not self.alive:
            return None
        try:
            done: Done = self._results.recv()
        except (EOFError, OSError) as exc:
            self._fail(exc)
            return None
        self.in_hand -= 1
        return done

    def _fail(self, exc: BaseException) -> None:
        if self.alive:
            self.alive = False
            self._process.join(timeout=1)
            log.warning("the second classifying process stopped (%s, exit code %s); this "
                        "process goes on alone", type(exc).__name__, self._process.exitcode)

    def close(self) -> None:
        self._outbox.put(None)  # the helper exits at the end of its input...
        if self.in_hand:  # ...which it reaches only once it has loaded
            self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._results.close()


_READY = "ready"


def _hand_over(outbox: queue.SimpleQueue[Numbered | None], tasks: Connection) -> None:
    try:
        while (chunk := outbox.get()) is not None:
            tasks.send(chunk)
    except OSError:
        pass  # the helper is gone: its answers end, and the chunks are done in the parent
    finally:
        tasks.close()


def _serve(paths: ModelPaths, tasks: Connection, results: Connection) -> None:
    """The helper: load the models, then answer chunks in order until its input ends. A thread
    takes the chunks as they come, so that the parent never waits to hand one over while this
    process waits to hand back an answer."""
    follow_parent()
    collect_less()
    analyzer = load_analyzer(paths.profile, paths.plans, paths.models_dir)
    inbox: queue.SimpleQueue[Numbered | None] = queue.SimpleQueue()

    def receive() -> None:
        try:
            while True:
                inbox.put(tasks.recv())
        except (EOFError, OSError):
            inbox.put(None)

    threading.Thread(target=receive, name="chunks", daemon=True).start()
    results.send(_READY)
    while (chunk := inbox.get()) is not None:
        results.send(classify_chunk(analyzer, chunk))
