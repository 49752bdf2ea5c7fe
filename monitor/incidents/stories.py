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
import zlib
from datetime import datetime

from datasketch import MinHash, MinHashLSH

from monitor.analyze.text import normalize

NUM_PERM = 32
SHINGLE = 2
# The part of a text that identifies its story: a title plus the start of the body.
STORY_CHARS = 200
# CRC-32 instead of datasketch's default SHA-1: the random permutations do the mixing, and
# hashing is most of the cost of a sketch
_BASE = MinHash(num_perm=NUM_PERM, seed=7, hashfunc=zlib.crc32)


def shingles(text: str) -> set[bytes]:
    compact = "".join(ch for ch in normalize(text[:STORY_CHARS * 2])[:STORY_CHARS]
                      if ch.isalnum())
    if len(compact) <= SHINGLE:
        return {compact.encode()} if compact else set()
    return {compact[i:i + SHINGLE].encode() for i in range(len(compact) - SHINGLE + 1)}


def _sketch(grams: set[bytes]) -> MinHash:
    sketch = MinHash(num_perm=NUM_PERM, permutations=_BASE.permutations, scheme=_BASE.scheme,
                     hashfunc=zlib.crc32)
    sketch.update_batch(sorted(grams))
    return sketch


def _containment(jaccard: float, size_a: int, size_b: int) -> float:
    """|A ∩ B| / min(|A|, |B|), from the Jaccard estimate and the two set sizes."""
    if not size_a or not size_b:
        return 0.0
    shared = jaccard * (size_a + size_b) / (1 + jaccard)
    return min(1.0, shared / min(size_a, size_b))


class StoryIndex:
    """Assigns each text to the story of an earlier near-duplicate, or starts a new story."""

    def __init__(self, containment: float, candidates: float, window_s: int) -> None:
        self.containment = containment
        self.window_s = window_s
        self._lsh = MinHashLSH(threshold=candidates, num_perm=NUM_PERM)
        self._sketches: dict[int, tuple[MinHash, int]] = {}  # item id → (sketch, set size)
        self._story_of: dict[int, int] = {}
        self._expiry: list[tuple[float, int]] = []  # (seen at, item id), oldest first

    def __len__(self) -> int:
        return len(self._sketches)

    def add(self, item_id: int, text: str, at: datetime) -> int:
        """The story id (its first item's id) for this item."""
        self.forget_before(at.timestamp() - self.window_s)
        grams = shingles(text)
        sketch = _sketch(grams)
        best, best_score = None, self.containment
        for key in sorted(self._lsh.query(sketch)):
            other, size = self._sketches[key]
            score = _containment(sketch.jaccard(other), len(grams), size)
            if score > best_score or (score == best_score and best is None):
                best, best_score = key, score
        story = self._story_of[best] if best is not None else item_id
        self._lsh.insert(item_id, sketch, check_duplication=False)
        self._sketches[item_id] = (sketch, len(grams))
        self._story_of[item_id] = story
        heapq.heappush(self._expiry, (at.timestamp(), item_id))
        return story

    def forget_before(self, timestamp: float) -> None:
        while self._expiry and self._expiry[0][0] < timestamp:
            _, item_id = heapq.heappop(self._expiry)
            self._lsh.remove(item_id)
            del self._sketches[item_id]
            del self._story_of[item_id]
