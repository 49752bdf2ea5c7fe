"""Full-text search over items: each item's jieba words in an SQLite FTS5 index (the
segmenter's words joined by spaces, so the index's own tokenizer only splits on them). The
index keeps only which items hold each word (migration 0010): a query is single words, never
phrases, and the newest items holding them come first. Other databases search titles and
summaries with LIKE, newest first too."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, or_, select, text

from monitor.store.schema import items, signals

# a run of letters and digits, as str.isalnum() says of each character: what the index's
# tokenizer makes of a word ("covid-19" is "covid" and "19")
_TOKEN = re.compile(r"[^\W_]+")


def _indexed(word: str) -> bool:
    """Whether a word goes into the index: punctuation and spaces do not. Most words are all
    letters, and isalnum() says so fastest."""
    return word.isalnum() or _TOKEN.search(word) is not None


def _fts(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def index_text(words: Sequence[str]) -> str:
    """What the index holds of a text with these words."""
    return " ".join([w for w in words if _indexed(w)])


def index_items(conn: Connection, rows: Sequence[tuple[int, Sequence[str]]]) -> None:
    """(item id, its words) into the index."""
    index_texts(conn, [(item_id, index_text(words)) for item_id, words in rows])


def index_texts(conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
    """(item id, its index_text) into the index."""
    if not rows or not _fts(conn):
        return
    conn.exec_driver_sql("INSERT INTO items_fts(rowid, tokens) VALUES (?, ?)", list(rows))


def search_items(conn: Connection, words: Sequence[str], limit: int = 50
                 ) -> list[dict[str, Any]]:
    """The newest items holding every word, with their health score and topics."""
    words = [w for w in words if _indexed(w)]
    if not words:
        return []
    columns = (items.c.id, items.c.title, items.c.url, items.c.source, items.c.fetched_at,
               signals.c.health_score, signals.c.topics, signals.c.negative)
    if _fts(conn):
        # each token on its own: a quoted "covid-19" would be a phrase, which an index
        # without positions refuses
        match = " AND ".join(f'"{token}"' for w in words for token in _TOKEN.findall(w))
        ids = [r[0] for r in conn.execute(text(
            "SELECT rowid FROM items_fts WHERE items_fts MATCH :q ORDER BY rowid DESC LIMIT :n"),
            {"q": match, "n": limit})]
        if not ids:
            return []
        found = {r.id: dict(r._mapping) for r in conn.execute(
            select(*columns).outerjoin(signals, signals.c.item_id == items.c.id)
            .where(items.c.id.in_(ids)))}
        return [found[i] for i in ids if i in found]
    query = select(*columns).outerjoin(signals, signals.c.item_id == items.c.id)
    for word in words:
        query = query.where(or_(items.c.title.contains(word), items.c.summary.contains(word)))
    return [dict(r._mapping) for r in conn.execute(query.order_by(items.c.id.desc())
                                                    .limit(limit))]
