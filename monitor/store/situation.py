"""The SQL behind the 舆情态势 page: counts over a span of fetch time, done where the rows are.

Every aggregate is over one span [start, end) of ``items.fetched_at`` (the index the spans
run on), one statement per span: SQLite sorts the rows of a GROUP BY on an expression, which
costs more than the counting, so a trend is many small range statements (a day, an hour)
instead of one grouped by bucket. Portable to PostgreSQL: no JSON functions, the topics are
found with instr/strpos in the JSON the store writes (``"key": "…"``, json.dumps' default
separators, as signals.signal_values writes them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, select

from monitor.records import IncidentStatus
from monitor.store.schema import deadlines, incidents, items, signals

# The classifier's negative score is the probability that a text is negative toward care,
# services or authorities; there is no positive class. At or above 0.5 (the threshold every
# other part of the service uses: incidents' negative share, the reports) an item is 负面;
# below 0.2 the model sees no negativity at all, which the page calls 正面 (no negative tone);
# in between, 中性.
NEGATIVE_AT = 0.5
POSITIVE_BELOW = 0.2
LIVE = (IncidentStatus.OPEN.value, IncidentStatus.CONFIRMED.value,
        IncidentStatus.RESPONDING.value)

Span = tuple[datetime, datetime]  # [start, end), aware


@dataclass(frozen=True, slots=True)
class SourceCounts:
    """One source's items in a span: all, health-related, and of those by tone and topic."""

    source: str
    items: int
    health: int
    negative: int
    positive: int
    topics: tuple[int, ...]  # health-related items per topic, in the order asked for


@dataclass(frozen=True, slots=True)
class TopIncident:
    id: int
    title: str
    status: str
    level: str | None
    proposed_level: str | None
    heat: float
    items: int
    region: str | None
    topics: tuple[str, ...]


def _health_where() -> ColumnElement[bool]:
    """Health-related, as a filter SQLite cannot answer from the signals' health index: with
    no statistics it would start there and read every health-related item ever stored,
    where the span is a small part of the fetch-time index it should start from."""
    return case((signals.c.health.is_(True), 1), else_=0) == 1


def _in(span: Span) -> ColumnElement[bool]:
    return and_(items.c.fetched_at >= span[0], items.c.fetched_at < span[1])


def _count(condition: ColumnElement[bool]) -> Any:
    # CASE, not SUM(boolean): PostgreSQL sums no booleans
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _source() -> ColumnElement[str]:
    """The source, to group by: grouped by the column itself SQLite would walk the whole
    (source, ident) index for its order instead of the span's rows."""
    return items.c.source.concat("")


def _health() -> ColumnElement[bool]:
    return signals.c.health.is_(True)


def _has(conn: Connection, column: Any, needle: str) -> ColumnElement[bool]:
    # instr is several times cheaper than LIKE in SQLite (no case folding, no pattern)
    if conn.dialect.name == "postgresql":
        return func.strpos(column, needle) > 0
    return func.instr(column, needle) > 0


def versions(conn: Connection, spans: Sequence[Span]) -> list[tuple[int, int]]:
    """(items, highest item id) of each span, from the fetch-time index alone: a span whose
    version is unchanged, and whose items were all analysed, has the same counts."""
    query = select(func.count(), func.coalesce(func.max(items.c.id), 0)).select_from(items)
    out = []
    for span in spans:
        count, last = conn.execute(query.where(_in(span))).one()
        out.append((int(count), int(last)))
    return out


def analysed_through(conn: Connection) -> int:
    """The highest analysed item id: analysis goes in id order, a batch at a time, so every
    item up to it has its signal."""
    return int(conn.execute(select(func.coalesce(func.max(signals.c.item_id), 0))).scalar_one())


def source_counts(conn: Connection, span: Span, topic_keys: Sequence[str]) -> list[SourceCounts]:
    """Per source: items, health-related ones, negative and positive ones among those, and
    those of each topic. Items not analysed yet count among the items only."""
    health = _health()
    topic_sums = [_count(and_(health, _has(conn, signals.c.topics, f'"key": "{key}"')))
                  for key in topic_keys]
    source = _source()
    query = (select(source, func.count(), _count(health),
                    _count(and_(health, signals.c.negative >= NEGATIVE_AT)),
                    _count(and_(health, signals.c.negative < POSITIVE_BELOW)), *topic_sums)
             .select_from(items.outerjoin(signals, signals.c.item_id == items.c.id))
             .where(_in(span)).group_by(source))
    return [SourceCounts(row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4]),
                         tuple(int(v) for v in row[5:])) for row in conn.execute(query)]


def place_sets(conn: Connection, span: Span) -> list[tuple[tuple[str, ...], int]]:
    """The sets of places the health-related items name, with how many items name each
    (the sets are few: most items name none, one or two)."""
    query = (select(signals.c.places, func.count())
             .select_from(items.join(signals, signals.c.item_id == items.c.id))
             .where(_in(span), _health_where(), signals.c.places != "[]")
             .group_by(signals.c.places))
    return [(tuple(json.loads(places)), int(n)) for places, n in conn.execute(query)]


def health_titles(conn: Connection, span: Span) -> list[str]:
    """The titles of the health-related items (for their hot words)."""
    query = (select(items.c.title)
             .select_from(items.join(signals, signals.c.item_id == items.c.id))
             .where(_in(span), _health_where()))
    return list(conn.execute(query).scalars())


def counts(conn: Connection, spans: Sequence[Span]) -> list[tuple[int, int]]:
    """(items, health-related items) of each span: an hourly trend."""
    query = (select(func.count(), _count(_health()))
             .select_from(items.outerjoin(signals, signals.c.item_id == items.c.id)))
    out = []
    for span in spans:
        total, health = conn.execute(query.where(_in(span))).one()
        out.append((int(total), int(health)))
    return out


def incident_counts(conn: Connection, span: Span) -> tuple[int, int, int]:
    """Incidents opened in the span (a merged one was counted in the one it joined), the
    incidents open now, and the deadlines that ran out in the span (met late or not)."""
    opened = conn.execute(select(func.count()).where(
        incidents.c.opened_at >= span[0], incidents.c.opened_at < span[1],
        incidents.c.status != IncidentStatus.MERGED.value)).scalar_one()
    live = conn.execute(select(func.count()).where(incidents.c.status.in_(LIVE))).scalar_one()
    missed = conn.execute(select(func.count()).select_from(deadlines).where(
        deadlines.c.missed_at >= span[0], deadlines.c.missed_at < span[1],
        deadlines.c.status != "cancelled")).scalar_one()
    return int(opened), int(live), int(missed)


def top_incidents(conn: Connection, span: Span, limit: int = 10) -> list[TopIncident]:
    """The hottest incidents alive in the span (opened before its end, changed after its
    start), merged ones left out: they live on in the one that absorbed them."""
    query = (select(incidents.c.id, incidents.c.title, incidents.c.status, incidents.c.level,
                    incidents.c.proposed_level, incidents.c.heat,
                    # c.items is the collection's own method; the column is c["items"]
                    incidents.c["items"].label("n_items"),
                    incidents.c.region, incidents.c.topics)
             .where(incidents.c.opened_at < span[1], incidents.c.updated_at >= span[0],
                    incidents.c.status != IncidentStatus.MERGED.value)
             .order_by(incidents.c.heat.desc(), incidents.c.id).limit(limit))
    return [TopIncident(r.id, r.title, r.status, r.level, r.proposed_level, float(r.heat),
                        int(r.n_items), r.region, tuple(json.loads(r.topics)))
            for r in conn.execute(query)]


def newest_items(conn: Connection, since: datetime) -> dict[str, datetime]:
    """Each source's newest item fetched since ``since`` (a bounded span of the index)."""
    source = _source()
    query = (select(source, func.max(items.c.fetched_at))
             .where(items.c.fetched_at >= since).group_by(source))
    return {source: at for source, at in conn.execute(query)}


def health_items(conn: Connection, span: Span, limit: int) -> list[Any]:
    """The health-related items of the span in time order, at most ``limit``, for export."""
    query = (select(items.c.id, items.c.fetched_at, items.c.source, items.c.url,
                    items.c.title, signals.c.topics, signals.c.negative, signals.c.places)
             .select_from(items.join(signals, signals.c.item_id == items.c.id))
             .where(_in(span), _health_where()).order_by(items.c.fetched_at, items.c.id)
             .limit(limit))
    return list(conn.execute(query))


def health_count(conn: Connection, span: Span) -> int:
    query = (select(func.count())
             .select_from(items.join(signals, signals.c.item_id == items.c.id))
             .where(_in(span), _health_where()))
    return int(conn.execute(query).scalar_one())
