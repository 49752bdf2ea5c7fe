"""Stories: reposts and lightly edited copies of one text, folded together.

Ingestion already links exact reposts (same normalised URL or title). What it cannot see are
copies with a media suffix, changed punctuation, a comment in front or a few words edited.
Those are found here with MinHash over character bigrams (datasketch), which works on short
Chinese titles where word-based methods have too few tokens to compare. An LSH index at a low
Jaccard threshold finds candidates; a candidate is the same story when the estimated share of
the shorter text's bigrams found in the other (containment) reaches the threshold: a copy with
a comment in front or a suffix behind keeps nearly all of the original's bigrams, while its
Jaccard similarity drops with every character added. bench/neardup_eval.py measures this on
500 labelled pairs. The index forgets texts older than the window, so memory stays bounded.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from datasketch import MinHash, MinHashLSH

from monitor.analyze.text import normalize

NUM_PERM = 32
SHINGLE = 2
# The part of a text that identifies its story: a title plus the start of the body.
STORY_CHARS = 200
# A character bigram is two code points packed into one integer, so it needs no hash function
# of its own; a multiplicative mix folds it to the 32 bits datasketch's permutations take.
_MIX = np.uint64(0x9E3779B97F4A7C15)
SEED = 7
_NOT_ALNUM = re.compile(r"[\W_]+")  # what str.isalnum() rejects, character by character
# A text that says it is a repost ("转发：", "【转】", "转载", "//@someone:") carries the
# reposter's words beside the original, so less of it needs to match (repost_containment).
_REPOST = re.compile(r"^\W{0,3}(?:转发|转载|转自|转[:：】\]]|repost)|//@", re.IGNORECASE)


def shingles(text: str) -> np.ndarray:
    """The distinct character bigrams of the text's letters and digits, packed as integers."""
    compact = _NOT_ALNUM.sub("", normalize(text[:STORY_CHARS * 2])[:STORY_CHARS])
    points = np.frombuffer(compact.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(points) <= SHINGLE:
        return points[:1] if len(points) else points
    return np.unique((points[:-1] << np.uint64(21)) | points[1:])


def _folded(grams: np.ndarray) -> list[int]:
    with np.errstate(over="ignore"):  # multiplication modulo 2^64 is the mixing wanted
        return ((grams * _MIX) >> np.uint64(32)).tolist()  # type: ignore[no-any-return]


def _containment(jaccard: np.ndarray, size: int, sizes: np.ndarray) -> np.ndarray:
    """|A ∩ B| / min(|A|, |B|) for one set against several, from the Jaccard estimates and
    the set sizes."""
    shared = jaccard * (size + sizes) / (1 + jaccard)
    smaller = np.maximum(1, np.minimum(size, sizes))
    return np.asarray(np.minimum(1.0, shared / smaller))


@dataclass(frozen=True)  # not slotted: pickled fast by its __dict__
class Sketch:
    """What the index keeps of a text: its MinHash signature and its number of bigrams."""

    signature: np.ndarray
    size: int
    repost: bool = False  # the text says it is a repost


_HASHER = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int)  # its permutations, made once


def sketch(text: str) -> Sketch:
    grams = shingles(text)
    _HASHER.clear()
    _HASHER.update_batch(_folded(grams))
    return Sketch(_HASHER.hashvalues.copy(), len(grams), bool(_REPOST.search(text[:400])))


class _Bands:
    """Rows of the index by the bands of their signatures: two texts are candidates when one
    of their bands is equal. This is MinHashLSH's index, with the bands and rows datasketch
    chooses for the threshold, in plain dicts: datasketch's general storage layer made an add
    to the story index take 190 µs instead of 136."""

    def __init__(self, threshold: float) -> None:
        chosen = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._band = np.dtype((np.void, chosen.r * np.dtype(np.uint64).itemsize))
        self._tables: list[dict[bytes, set[int]]] = [{} for _ in range(chosen.b)]

    def keys(self, signature: np.ndarray) -> list[bytes]:
        whole = signature.astype(np.uint64)[:len(self._tables) * (self._band.itemsize // 8)]
        return whole.view(self._band).tolist()  # type: ignore[no-any-return]

    def query(self, keys: list[bytes]) -> set[int]:
        return set().union(*map(dict.get, self._tables, keys, [()] * len(keys)))

    def insert(self, row: int, keys: list[bytes]) -> None:
        for table, key in zip(self._tables, keys, strict=True):
            table.setdefault(key, set()).add(row)

    def remove(self, row: int, keys: list[bytes]) -> None:
        for table, key in zip(self._tables, keys, strict=True):
            bucket = table[key]
            bucket.discard(row)
            if not bucket:
                del table[key]


class StoryIndex:
    """Assigns each text to the story of an earlier near-duplicate, or starts a new story."""

    def __init__(self, containment: float, candidates: float, window_s: int,
                 repost_containment: float | None = None) -> None:
        self.containment = containment
        self.repost_containment = containment if repost_containment is None \
            else repost_containment
        self.window_s = window_s
        self._bands = _Bands(candidates)
        # Each text the index holds has a row: its signature, set size, item id and story in
        # four arrays, so that the candidates of a text are compared with it in one step; a
        # forgotten text's row is used again.
        self._signatures = np.zeros((64, NUM_PERM), dtype=np.uint64)
        self._sizes = np.zeros(64, dtype=np.int64)
        self._ids = np.zeros(64, dtype=np.int64)
        self._stories = np.zeros(64, dtype=np.int64)
        self._keys: list[list[bytes]] = [[] for _ in range(64)]  # a row's band keys
        self._free: list[int] = list(range(63, -1, -1))
        self._expiry: list[tuple[float, int, int]] = []  # (seen at, item id, row), oldest first

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, item_id: int, text: Sketch, at: datetime) -> int:
        """The story id (its first item's id) for the item with this sketch."""
        self.forget_before(at.timestamp() - self.window_s)
        keys = self._bands.keys(text.signature)
        story = item_id
        if text.size:
            found = self._bands.query(keys)
            if found:
                rows = np.fromiter(found, dtype=np.intp, count=len(found))
                shared = np.count_nonzero(self._signatures[rows] == text.signature, axis=1)
                scores = _containment(shared / NUM_PERM, text.size, self._sizes[rows])
                top = scores.max()
                if top >= (self.repost_containment if text.repost else self.containment):
                    # the first of the best in id order, so that ties never depend on the index
                    best = rows[scores == top]
                    story = int(self._stories[best[self._ids[best].argmin()]])
        row = self._take_row()
        self._bands.insert(row, keys)
        self._signatures[row], self._sizes[row] = text.signature, text.size
        self._ids[row], self._stories[row], self._keys[row] = item_id, story, keys
        heapq.heappush(self._expiry, (at.timestamp(), item_id, row))
        return story

    def _take_row(self) -> int:
        if not self._free:
            held = len(self._sizes)
            self._signatures, self._sizes, self._ids, self._stories = map(
                _doubled, (self._signatures, self._sizes, self._ids, self._stories))
            self._keys.extend([] for _ in range(held))
            self._free = list(range(2 * held - 1, held - 1, -1))
        return self._free.pop()

    def forget_before(self, timestamp: float) -> None:
        while self._expiry and self._expiry[0][0] < timestamp:
            _, _, row = heapq.heappop(self._expiry)
            self._bands.remove(row, self._keys[row])
            self._keys[row] = []
            self._free.append(row)


def _doubled(rows: np.ndarray) -> np.ndarray:
    """The rows and as many empty ones after them."""
    return np.concatenate([rows, np.zeros_like(rows)])
