"""The incident engine: analysed items in, incidents and timeline events out.

Single pass, in arrival order. A relevant item joins the story of an earlier near-duplicate,
else the most similar live cluster (cosine of TF-IDF vectors, a bonus for naming the same
place), else starts a cluster of its own. A cluster becomes an incident when it is big, broad
and negative enough (alerts/incidents.yaml). Clusters idle for longer than the window are
forgotten, so memory follows the rate of items, not their total.

The engine does no I/O: every decision is recorded in a ``Changes`` that the caller writes in
one transaction, and the engine's state can be rebuilt from the store by observing the same
items again quietly.
"""

from __future__ import annotations

import heapq
import itertools
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import islice

from monitor.incidents.heat import Baselines, HeatState, Reading, glance, read
from monitor.incidents.settings import IncidentSettings
from monitor.incidents.stories import Sketch, StoryIndex, sketch
from monitor.incidents.vectors import CENTROID_TERMS, Vector, Vectorizer, cosine, top, unit
from monitor.records import Incident, IncidentStatus, Item, Signal, TimelineEvent

INDEX_TERMS = 8  # a cluster is found through its strongest terms
# A term shared by more live clusters than this (a common word, the city's name) narrows
# nothing down; the candidates come from the rarer terms.
POSTING_LIMIT = 64
CANDIDATES = 24  # clusters compared with each item at most
DESCRIBE = 200  # items read to pick an incident's title, topics and places
BURST = 6  # a leading post this many times the rest's pace before them is not their first
KEEP_MEMBERS = 50  # items a cluster remembers in detail; older ones live on in its sums
INTAKE = "intake"  # the source of reports entered by hand (intake.py)
MEMBER_TERMS = 8  # terms remembered per item, to choose the most representative one
SYSTEM = "system"
BACKFILL_LIMIT = timedelta(days=7)
LIVE = (IncidentStatus.OPEN, IncidentStatus.CONFIRMED, IncidentStatus.RESPONDING,
        IncidentStatus.DISMISSED)


def event_time(item: Item) -> datetime:
    """When the item happened: its publication time if plausible, else when it was fetched."""
    published = item.published_at
    if published is not None and item.fetched_at - BACKFILL_LIMIT <= published <= item.fetched_at:
        return published
    return item.fetched_at


@dataclass(frozen=True)  # not slotted: pickled fast by its __dict__
class ItemFeatures:
    """What the engine reads of an item's text: they depend on the item alone, so they can be
    computed ahead of time or elsewhere."""

    sketch: Sketch | None  # for near-duplicates; None once its story is known (``story``)
    vector: Vector  # for clustering
    remembered: Vector  # its strongest terms, which its cluster remembers of it
    terms: set[str]  # the terms its candidate clusters are looked up by
    story: int | None = None  # its story, when found ahead of the engine (prepare.py)
    areas: tuple[str, ...] = ()  # the counties (or prefectures) elsewhere in China it names


@dataclass(frozen=True, slots=True)
class Member:
    item_id: int
    story_id: int
    source: str
    at: float  # event time, POSIX seconds
    title: str
    url: str
    negative: float
    plan_hit: bool
    topics: tuple[str, ...]
    places: tuple[str, ...]
    vector: Vector
    weight: float  # the source's authority
    risk: float = 0.0
    risk_terms: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()  # counties (or prefectures) outside the jurisdiction


@dataclass
class Cluster:
    key: int
    centroid: Vector = field(default_factory=dict)  # sum of member vectors, strongest terms
    members: list[Member] = field(default_factory=list)  # the latest KEEP_MEMBERS or so
    count: int = 0  # every item it ever took, reposts included
    stories: int = 0  # the originals among them (copies are not counted again)
    filed: set[int] = field(default_factory=set)  # item ids filed under its incident
    heat: HeatState = field(default_factory=HeatState)
    last_at: float = 0.0
    incident: Incident | None = None
    parent_id: int | None = None  # the closed incident this cluster re-flares
    dismissed_heat: float | None = None
    norm: float = 1.0  # of the centroid, kept up to date by the engine
    described: int = -1  # its count when its incident was last described from its members
    terms: set[str] = field(default_factory=set)  # what the engine's index files it under
    apart_from: int | None = None  # the cluster this one's member was set apart from
    first_at: float = math.inf  # its earliest item's event time, for its pace

    def similarity(self, vector: Vector) -> float:
        return cosine(vector, self.centroid) / self.norm

    def likeness(self, other: Cluster) -> float:
        """The cosine of the two centroids."""
        return cosine(self.centroid, other.centroid) / (self.norm * other.norm)


@dataclass
class Changes:
    """What one batch decided, for the store to write in one transaction."""

    stories: list[tuple[int, int]] = field(default_factory=list)  # item id, story id
    incident_items: list[tuple[int, int, datetime]] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)  # from incident, to incident
    # (item, from incident, to incident); an item not filed under "from" stays where it is
    moved_items: list[tuple[int, int, int]] = field(default_factory=list)
    incidents: dict[int, Incident] = field(default_factory=dict)  # newest state of each
    states: set[int] = field(default_factory=set)  # incidents whose status or level changed
    timeline: list[TimelineEvent] = field(default_factory=list)

    def event(self, incident: Incident, at: datetime, event_type: str, actor: str = SYSTEM,
              /, **data: object) -> None:
        self.timeline.append(TimelineEvent(incident.id, at, event_type, actor, data))

    def opened(self) -> list[int]:
        """The incidents this batch opened."""
        return sorted({e.incident_id for e in self.timeline if e.type == "opened"})

    def renumber(self, ids: dict[int, int]) -> None:
        """The same decisions with some incidents under other ids (Engine.renumber)."""
        def new(value: object) -> object:
            return ids.get(value, value) if isinstance(value, int) else value

        def n(value: int) -> int:
            return ids.get(value, value)

        self.incident_items = [(item, n(i), at) for item, i, at in self.incident_items]
        self.moved = [(n(a), n(b)) for a, b in self.moved]
        self.moved_items = [(item, n(a), n(b)) for item, a, b in self.moved_items]
        self.incidents = {n(k): replace(v, id=n(v.id), merged_into=new(v.merged_into),  # type: ignore[arg-type]
                                        parent_id=new(v.parent_id))  # type: ignore[arg-type]
                          for k, v in self.incidents.items()}
        self.states = {n(i) for i in self.states}
        self.timeline = [replace(e, incident_id=n(e.incident_id), data={
            k: new(v) if k in _INCIDENT_REFS else v for k, v in e.data.items()})
            for e in self.timeline]


_INCIDENT_REFS = ("into", "from_incident", "split_from", "reflare_of")


class ActionError(ValueError):
    """An action that cannot apply (unknown incident, level, or a closed incident)."""


class Engine:
    def __init__(self, settings: IncidentSettings, vectorizer: Vectorizer,
                 regions: dict[str, str], next_incident_id: int = 1) -> None:
        """``regions``: place name → its district or county, from the profile."""
        self.settings = settings
        self.vectorizer = vectorizer
        self.regions = regions
        self.next_incident_id = next_incident_id
        nd = settings.near_duplicate
        self.stories = StoryIndex(nd.containment, nd.candidates, nd.window,
                                  nd.repost_containment)
        self.baselines = Baselines(settings.heat)
        self.clusters: dict[int, Cluster] = {}
        self._index: dict[str, set[int]] = {}
        self._by_story: dict[int, int] = {}  # story id → cluster key
        self._story_seen: dict[int, float] = {}  # story id → its latest item, for forgetting
        self._story_expiry: list[tuple[float, int]] = []  # (item at, story id); may be stale
        self._by_incident: dict[int, int] = {}  # incident id → cluster key
        self._reflares: dict[int, int] = {}  # closed incident id → cluster of its re-flare
        self._expiry: list[tuple[float, int]] = []  # (last item at, cluster key); may be stale
        self._grown: set[int] = set()  # incident clusters that took items since the last tick
        self._awaited: dict[int, int] = {}  # item id → incident opened by hand, not seen yet
        self._known: set[int] = set()  # every incident the engine opened or took
        self._next_key = 1

    # --- items --------------------------------------------------------------------------------

    def relevant(self, signal: Signal) -> bool:
        rel = self.settings.relevant
        return signal.health_score >= rel.health_score or (rel.plan_hit and bool(signal.plans))

    def features(self, item: Item, body: str, signal: Signal,
                 words: Sequence[str] | None = None) -> ItemFeatures:
        """``words``: the item's words as the analysis read them, if known."""
        topics = tuple(t.key for t in signal.topics)
        vector = self.vectorizer.vector(item.title, body, signal.places, topics, words)
        return ItemFeatures(_sketch(item, body), vector, top(vector, MEMBER_TERMS),
                            _index_terms(vector), areas=self.vectorizer.areas(vector))

    def observe(self, item: Item, body: str, signal: Signal, weight: float,
                changes: Changes, incident_id: int | None = None, quiet: bool = False,
                features: ItemFeatures | None = None) -> None:
        """Take one analysed item. ``quiet`` rebuilds state without deciding anything new:
        ``incident_id`` then says which incident the item was already filed under."""
        if item.id is None:
            return
        awaited = self._awaited.pop(item.id, None)
        if awaited is not None and awaited in self._by_incident and not quiet:
            # filed by a person before the engine saw it (a report entered by hand): it
            # joins its incident whatever its score, as filed items do at a restart
            quiet, incident_id = True, awaited
        elif not self.relevant(signal) and not (quiet and incident_id is not None):
            return
        seen = item.fetched_at
        at = event_time(item).timestamp()
        self._forget(seen.timestamp())
        features = features or self.features(item, body, signal)
        story = features.story
        if story is None:
            story = self.stories.add(item.id, features.sketch or _sketch(item, body), seen)
        if not quiet or awaited is not None:
            changes.stories.append((item.id, story))
        topics = tuple(t.key for t in signal.topics)
        self.baselines.count(topics, at)
        self.baselines.advance(seen.timestamp())
        member = Member(item.id, story, item.source, at, item.title, item.url, signal.negative,
                        bool(signal.plans), topics, signal.places, features.remembered, weight,
                        signal.risk, signal.risk_terms, features.areas)

        if quiet:
            cluster = (self._cluster_of_incident(incident_id) if incident_id is not None
                       else self._place(member, features)[0])
            self._join(cluster, member, features.vector)
            if awaited is not None:
                cluster.filed.add(item.id)
                self._reassess(cluster, seen, changes)
            return
        cluster, runner_up = self._place(member, features)
        self._join(cluster, member, features.vector)
        if runner_up is not None and runner_up.apart_from != cluster.key and \
                cluster.likeness(runner_up) >= self.settings.cluster.merge_similarity:
            cluster = self._merge(cluster, runner_up, seen, changes)
        if cluster.incident is None:
            self._maybe_open(cluster, seen, changes)
        else:
            self._file(cluster, member, seen, changes)
            self._reassess(cluster, seen, changes)

    def _place(self, member: Member, features: ItemFeatures) -> tuple[Cluster, Cluster | None]:
        """The cluster the item joins, and the next best one that was also similar enough."""
        if member.story_id != member.item_id and member.story_id in self._by_story:
            key = self._by_story[member.story_id]
            cluster = self.clusters.get(key)
            # a copy that names other places of the jurisdiction is a look-alike story
            # ("凤庆县一医院…" / "永德县一医院…"), so it is placed by similarity instead
            if cluster is not None and self._accepts(cluster) and (
                    not member.places or self._same_area(set(member.places), _places(cluster))):
                return cluster, None
        scored = []
        postings = [self._index.get(t, ()) for t in features.terms]
        shared = Counter(k for keys in postings if len(keys) <= POSTING_LIMIT for k in keys)
        # the clusters sharing the most strong terms; ties by age, so the order is fixed
        for key in sorted(k for k, _ in sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))
                          [:CANDIDATES]):
            cluster = self.clusters[key]
            score = cluster.similarity(features.vector)
            if score >= self._threshold(cluster, member.at):
                scored.append((-score, key, cluster))
        scored.sort(key=lambda s: (s[0], s[1]))
        best = scored[0][2] if scored else None
        if best is not None and not self._accepts(best):
            # a closed incident flares up again: one new cluster, linked to the old incident
            parent = best.incident.id if best.incident else 0
            reflare = self.clusters.get(self._reflares.get(parent, 0))
            if reflare is None:
                reflare = self._new_cluster(parent)
                self._reflares[parent] = reflare.key
            return reflare, None
        runner_up = next((c for _, _, c in scored[1:] if self._accepts(c)), None)
        return (best or self._new_cluster(None)), runner_up

    def _same_area(self, places: set[str], others: set[str]) -> bool:
        """Whether the places are among the others or in the same county (a copy that says
        "耿马" of a story about a town of 耿马 is the same story)."""
        if places & others:
            return True
        regions = {self.regions.get(p) for p in places} - {None}
        return bool(regions & {self.regions.get(p) for p in others})

    def _threshold(self, cluster: Cluster, at: float) -> float:
        """The similarity an item needs to join the cluster: higher the longer the cluster has
        been quiet beyond its own pace, so that a story's centroid, which drifts towards its
        topic's common words, does not gather that topic's ordinary items for days."""
        rule = self.settings.cluster
        if cluster.count < 2:
            return rule.similarity
        pace = (cluster.last_at - cluster.first_at) / (cluster.count - 1)
        quiet = min(max(0.0, at - cluster.last_at - pace), rule.idle_cap)
        return rule.similarity + rule.idle_penalty * quiet / 3600

    @staticmethod
    def _accepts(cluster: Cluster) -> bool:
        return cluster.incident is None or cluster.incident.status in LIVE

    def _new_cluster(self, parent_id: int | None) -> Cluster:
        cluster = Cluster(self._next_key, parent_id=parent_id)
        self._next_key += 1
        self.clusters[cluster.key] = cluster
        return cluster

    def _join(self, cluster: Cluster, member: Member, vector: Vector) -> None:
        """``vector``: the item's whole vector (``member`` keeps its strongest terms)."""
        self._add_to_centroid(cluster, vector)
        cluster.members.append(member)
        if len(cluster.members) > 2 * KEEP_MEMBERS:
            cluster.members = cluster.members[-KEEP_MEMBERS:]
            # filing is checked against the items still remembered, so the set stays small
            cluster.filed &= {m.item_id for m in cluster.members}
        cluster.count += 1
        cluster.stories += member.story_id == member.item_id
        cluster.heat.add(member.at, member.weight, member.negative, member.source,
                         self.settings.heat.half_life)
        self._touch(cluster, member.at)
        if member.story_id not in self._by_story:
            self._by_story[member.story_id] = cluster.key
        self._story_seen[member.story_id] = member.at
        heapq.heappush(self._story_expiry, (member.at, member.story_id))
        if cluster.incident is not None:
            self._grown.add(cluster.key)

    def _add_to_centroid(self, cluster: Cluster, vector: Vector) -> None:
        centroid = cluster.centroid
        for term, value in vector.items():
            centroid[term] = centroid.get(term, 0.0) + value
        # one ranking gives both the strongest terms kept (as top() keeps them) and the terms
        # the cluster is found by (as _index_terms() chooses them)
        ranked = sorted((-v, t) for t, v in centroid.items())
        if len(ranked) > CENTROID_TERMS:
            ranked = ranked[:CENTROID_TERMS]
            centroid = cluster.centroid = {t: -v for v, t in ranked}
        cluster.norm = sum(v * v for v in centroid.values()) ** 0.5 or 1.0
        old_terms = cluster.terms
        cluster.terms = new_terms = _strongest_index_terms(ranked)
        for term in old_terms - new_terms:
            self._index[term].discard(cluster.key)
            if not self._index[term]:
                del self._index[term]
        for term in new_terms - old_terms:
            self._index.setdefault(term, set()).add(cluster.key)

    def _touch(self, cluster: Cluster, at: float) -> None:
        cluster.first_at = min(cluster.first_at, at)
        if at > cluster.last_at:
            cluster.last_at = at
            heapq.heappush(self._expiry, (at, cluster.key))

    def _forget(self, now: float) -> None:
        horizon = now - self.settings.cluster.window
        while self._expiry and self._expiry[0][0] < horizon:
            _, key = heapq.heappop(self._expiry)
            cluster = self.clusters.get(key)
            if cluster is not None and cluster.last_at < horizon:
                self._drop(cluster)

    def _forget_stories(self, now: float) -> None:
        """A story whose latest copy is older than the story window gets no more copies."""
        horizon = now - self.settings.near_duplicate.window
        while self._story_expiry and self._story_expiry[0][0] < horizon:
            at, story = heapq.heappop(self._story_expiry)
            if self._story_seen.get(story) == at:  # else a later item has moved it
                del self._story_seen[story]
                self._by_story.pop(story, None)

    def _drop(self, cluster: Cluster) -> None:
        for term in cluster.terms:
            keys = self._index.get(term)
            if keys is not None:
                keys.discard(cluster.key)
                if not keys:
                    del self._index[term]
        del self.clusters[cluster.key]
        if cluster.incident is not None:
            self._by_incident.pop(cluster.incident.id, None)
        # stories pointing here are dropped by _forget_stories; _place checks the key anyway

    # --- incidents ------------------------------------------------------------------------------

    def _maybe_open(self, cluster: Cluster, now: datetime, changes: Changes) -> None:
        why = self._reasons_to_open(cluster.members, now)
        if why is None:
            # one event told in threads worded nothing alike (residents' posts, a newsroom's
            # flash, the county's bulletin) is judged as one: together they may open it
            siblings = self._event_threads(cluster, now)
            if not siblings or (why := self._reasons_to_open(
                    [m for c in (cluster, *siblings) for m in c.members], now)) is None:
                return
            for sibling in siblings:
                cluster = self._merge(cluster, sibling, now, changes)
        if strays := self._strays(cluster):
            # earlier posts that merely share a place or a topic with the story: they go back
            # to clusters of their own, so the story's first post is the incident's first item
            cluster = self._set_apart(cluster, strays)
            why = self._reasons_to_open(cluster.members, now)
            if why is None:
                return
        if (live := self._same_event(cluster)) is not None:
            # a new thread of an event that already has an incident (the family's appeal a
            # day after the death): one event keeps one incident and one set of clocks
            self._reassess(self._merge(live, cluster, now, changes), now, changes)
            return
        for sibling in self._event_threads(cluster, now):
            # the other threads of the same event, told in other words, open with it
            cluster = self._merge(cluster, sibling, now, changes)
        first = min(cluster.members, key=lambda m: (m.at, m.item_id))
        incident = Incident(
            id=self.next_incident_id, status=IncidentStatus.OPEN, title="", opened_at=now,
            updated_at=now, first_item_id=first.item_id, first_source=first.source,
            parent_id=cluster.parent_id)
        self.next_incident_id += 1
        self._known.add(incident.id)
        cluster.incident = self._describe(cluster, incident, now)
        self._by_incident[incident.id] = cluster.key
        self._grown.add(cluster.key)
        reading = self._reading(cluster, now)
        data: dict[str, object] = {
            "title": cluster.incident.title, "topics": list(cluster.incident.topics),
            "keywords": list(cluster.incident.keywords), "region": cluster.incident.region,
            "first_source": first.source, "items": cluster.count, "level": reading.level,
            "reasons": reading.reasons, "why": why}
        if cluster.parent_id is not None:
            data["reflare_of"] = cluster.parent_id
        changes.event(cluster.incident, now, "opened", **data)
        for member in sorted(cluster.members, key=lambda m: (m.at, m.item_id)):
            self._file(cluster, member, now, changes)
        self._reassess(cluster, now, changes, reading)

    def _reasons_to_open(self, members: list[Member], now: datetime) -> str | None:
        """Why a cluster of these members should open an incident now, in Chinese for the duty
        officer (e.g.
        "3 小时内 24 条（2 个来源）；涉及死亡、医院与养老机构；负面 0.71"), or None. It opens when
        it is big and broad enough and negative enough, watched enough, or a high-risk story
        spreading fast."""
        rule = self.settings.open
        at = now.timestamp()
        recent = [m for m in members if m.at >= at - rule.within]
        sources = len({m.source for m in recent})
        if len(recent) < rule.items or sources < rule.sources:
            return None
        # the shares are taken over stories, not items: one post and its copies are one voice,
        # and a notice reposted five times must not make a run of neutral news look watched
        stories = list({m.story_id: m for m in reversed(recent)}.values())
        negative = sum(m.negative for m in stories) / len(stories)
        planned = sum(m.plan_hit for m in stories) / len(stories)
        risk = sum(m.risk for m in stories) / len(stories)
        pace = self._pace(recent, at)
        spreading = risk >= rule.spread.risk and pace is not None
        if negative < rule.negative_share and planned < rule.plan_share and not spreading:
            return None
        span = max(1, math.ceil((at - min(m.at for m in recent)) / 3600))
        parts = [f"{span} 小时内 {len(recent)} 条（{sources} 个来源）"]
        if pace is not None and (pace[1] is not None or span * 3600 > rule.spread.window):
            count, velocity = pace
            parts.append(f"{_hours(rule.spread.window)} 小时内 {count} 条" + (
                f"，为该话题每小时基线的 {velocity:.1f} 倍" if velocity is not None else ""))
        if risk >= rule.spread.risk and (terms := _common_terms(stories)):
            parts.append("涉及" + "、".join(terms))
        parts.append(f"负面 {negative:.2f}")
        if planned >= rule.plan_share:
            parts.append(f"命中监测方案 {planned:.0%}")
        return "；".join(parts)

    def _area(self, cluster: Cluster) -> tuple[str | None, set[str]]:
        """The county a cluster's members name most (of the jurisdiction or elsewhere), and
        their topics."""
        regions = Counter(self.regions[p] for m in cluster.members for p in m.places
                          if p in self.regions)
        regions.update(a for m in cluster.members for a in m.areas)
        topics = {t for m in cluster.members for t in m.topics}
        return (regions.most_common(1)[0][0] if regions else None), topics

    def _event_threads(self, cluster: Cluster, now: datetime) -> list[Cluster]:
        """The cluster's sibling threads, theirs, and so on: the mother's death told by her
        sister, by the crowd at the gate and by the family's banner."""
        found: dict[int, Cluster] = {}
        frontier = [cluster]
        while frontier:
            for sibling in self._sibling_threads(frontier.pop(), now):
                if sibling.key != cluster.key and sibling.key not in found:
                    found[sibling.key] = sibling
                    frontier.append(sibling)
        return [found[key] for key in sorted(found)]

    def _sibling_threads(self, cluster: Cluster, now: datetime) -> list[Cluster]:
        """Clusters without an incident, active within the opening window, in the same county,
        on a shared topic and somewhat alike (or twice as alike): other threads of the event
        about to open."""
        region, topics = self._area(cluster)
        if region is None or not topics:
            return []
        since = now.timestamp() - self.settings.open.within
        floor = self.settings.cluster.same_area_similarity
        found = []
        for key in sorted(set().union(*(self._index.get(t, ()) for t in cluster.terms))):
            other = self.clusters.get(key)
            if other is None or key == cluster.key or other.incident is not None \
                    or other.last_at < since or cluster.key == other.apart_from \
                    or (likeness := cluster.likeness(other)) < floor:
                continue
            other_region, other_topics = self._area(other)
            # the classifier may file one event's threads under neighbouring topics (a death
            # in childbirth: maternal care, a dispute): twice as alike will do without one
            if other_region == region and (topics & other_topics or likeness >= 2 * floor):
                found.append(other)
        return found

    def _same_event(self, cluster: Cluster) -> Cluster | None:
        """A live incident in the same county, on a shared topic and somewhat alike, that this
        cluster is a new thread of; None when there is none."""
        floor = self.settings.cluster.same_area_similarity
        region, topics = self._area(cluster)
        if region is None or not topics:
            return None
        best: tuple[float, int, Cluster] | None = None
        for incident_id, key in sorted(self._by_incident.items()):
            live = self.clusters.get(key)
            if live is None or live.incident is None or not self._accepts(live) \
                    or live.incident.region != region or not topics & set(live.incident.topics):
                continue
            likeness = cluster.likeness(live)
            if likeness >= floor and (best is None or likeness > best[0]):
                best = (likeness, incident_id, live)
        return best[2] if best else None

    def _pace(self, recent: list[Member], at: float) -> tuple[int, float | None] | None:
        """(items in the spread window, that pace ÷ the topic's hourly baseline) when the
        cluster spreads fast enough; the ratio is None while the baseline warms up."""
        spread = self.settings.open.spread
        count = sum(m.at >= at - spread.window for m in recent)
        if count < spread.items:
            return None
        topics = Counter(t for m in recent for t in m.topics)
        baseline = self.baselines.per_hour(topics.most_common(1)[0][0] if topics else "", at)
        if baseline is None:
            return count, None
        velocity = count / _hours(spread.window) / baseline
        return (count, velocity) if velocity >= spread.over_baseline else None

    def _strays(self, cluster: Cluster) -> list[Member]:
        """The cluster's leading members that came long before a burst of the rest: a post that
        only named the same town or topic, which the story met before it had grown. A leading
        member stays when copies of it follow (it is the story's first post) or when the rest
        came at about its own pace (a story that grows slowly)."""
        members = sorted(cluster.members, key=lambda m: (m.at, m.item_id))
        if len(members) < 3 or cluster.count != len(members):
            return []
        copies = Counter(m.story_id for m in members)
        gap = self.settings.cluster.core_gap
        strays: list[Member] = []
        for n, member in enumerate(members[:-2]):
            lead = members[n + 1].at - member.at
            pace = statistics.median(b.at - a.at for a, b in itertools.pairwise(members[n + 1:]))
            if copies[member.story_id] > 1 or lead < gap or lead < BURST * pace:
                break
            strays.append(member)
        return strays

    def _set_apart(self, cluster: Cluster, strays: list[Member]) -> Cluster:
        """The cluster rebuilt without ``strays``, each of which gets a cluster of its own."""
        leaving = {m.item_id for m in strays}
        self._drop(cluster)
        rebuilt = self._new_cluster(cluster.parent_id)
        for m in cluster.members:
            if m.item_id not in leaving:
                self._join(rebuilt, m, m.vector)
                self._by_story[m.story_id] = rebuilt.key
        for m in strays:
            alone = self._new_cluster(None)
            alone.apart_from = rebuilt.key  # so that its likeness does not merge it back
            self._join(alone, m, m.vector)
            self._by_story[m.story_id] = alone.key
        return rebuilt

    def _file(self, cluster: Cluster, member: Member, now: datetime, changes: Changes) -> None:
        if cluster.incident is None or member.item_id in cluster.filed:
            return
        cluster.filed.add(member.item_id)
        changes.incident_items.append((member.item_id, cluster.incident.id, now))
        changes.event(cluster.incident, now, "item_added", item=member.item_id, url=member.url,
                      title=member.title, source=member.source, story=member.story_id,
                      repost=member.story_id != member.item_id)

    def _describe(self, cluster: Cluster, incident: Incident, now: datetime) -> Incident:
        # the latest few hundred items describe the incident well enough, at bounded cost
        members = cluster.members[-DESCRIBE:]
        if not members:
            # a live incident adopted at restart whose items are all older than the window:
            # its stored description stands
            return replace(incident, updated_at=now)
        centre = unit(cluster.centroid)
        representative = max(members, key=lambda m: (cosine(m.vector, centre), -m.at, -m.item_id))
        topic_counts = Counter(t for m in members for t in m.topics)
        topics = tuple(t for t, n in topic_counts.most_common() if n >= 0.3 * len(members))
        places = Counter(p for m in members for p in m.places)
        regions = Counter(self.regions[p] for p in places.elements() if p in self.regions)
        heat = cluster.heat
        cluster.described = cluster.count
        # a report entered by hand keeps the title the duty officer gave it
        title = incident.title if incident.title and (
            incident.first_source == INTAKE or any(m.source == INTAKE for m in members)) \
            else representative.title
        return replace(
            incident, title=title, updated_at=now, topics=topics,
            keywords=tuple(top(cluster.centroid, 5)),
            places=tuple(p for p, _ in places.most_common(5)),
            region=regions.most_common(1)[0][0] if regions else None,
            items=cluster.count, stories=cluster.stories,
            sources=len(heat.sources), negative_share=round(heat.negative_share, 3))

    def _reading(self, cluster: Cluster, now: datetime) -> Reading:
        return read(cluster.heat, self._baseline(cluster, now.timestamp()), self.settings.levels)

    def _baseline(self, cluster: Cluster, now: float) -> float | None:
        """The baseline of the cluster's topic, its heat decayed to ``now`` to be read with it."""
        cluster.heat.decay_to(now, self.settings.heat.half_life)
        topic = cluster.incident.topics[0] if cluster.incident and cluster.incident.topics else ""
        return self.baselines.per_hour(topic, now)

    def _reassess(self, cluster: Cluster, now: datetime, changes: Changes,
                  reading: Reading | None = None) -> None:
        """Refresh the incident's figures; record a new proposed level or a resurfacing."""
        incident = cluster.incident
        if incident is None:
            return
        reading = reading or self._reading(cluster, now)
        # the description (title, topics, places) settles quickly; refresh it while the
        # incident is young and then every tenth item, the figures every time. A cluster that
        # took nothing since it was described (a tick) would be described the same again.
        if (cluster.count <= 20 or cluster.count % 10 == 0 or incident.items == 0) and \
                cluster.described != cluster.count:
            incident = replace(self._describe(cluster, incident, now), heat=reading.heat)
        else:
            incident = replace(incident, updated_at=now, items=cluster.count,
                               stories=cluster.stories, sources=len(cluster.heat.sources),
                               negative_share=round(cluster.heat.negative_share, 3),
                               heat=reading.heat)
        if reading.level != incident.proposed_level and incident.status in LIVE:
            changes.event(incident, now, "level_proposed", level=reading.level,
                          previous=incident.proposed_level, heat=reading.heat,
                          reasons=reading.reasons)
            incident = replace(incident, proposed_level=reading.level)
        if (incident.status is IncidentStatus.DISMISSED and cluster.dismissed_heat is not None
                and reading.heat >= cluster.dismissed_heat * self.settings.dismiss_margin):
            changes.event(incident, now, "resurfaced", heat=reading.heat,
                          heat_at_dismissal=cluster.dismissed_heat,
                          margin=self.settings.dismiss_margin, reasons=reading.reasons)
            incident = replace(incident, status=IncidentStatus.OPEN)
            changes.states.add(incident.id)
            cluster.dismissed_heat = None
        cluster.incident = incident
        changes.incidents[incident.id] = incident

    def _merge(self, keep: Cluster, other: Cluster, now: datetime, changes: Changes,
               actor: str = SYSTEM) -> Cluster:
        """Fold ``other`` into ``keep`` (the older incident survives); nothing is dropped: the
        absorbed incident is marked merged and its items are filed under the survivor."""
        if other.incident is not None and (keep.incident is None
                                           or other.incident.id < keep.incident.id):
            keep, other = other, keep
        self._drop(other)
        self._add_to_centroid(keep, other.centroid)
        keep.members = sorted(keep.members + other.members,
                              key=lambda m: (m.at, m.item_id))[-2 * KEEP_MEMBERS:]
        keep.count += other.count
        keep.stories += other.stories
        for story, key in self._by_story.items():
            if key == other.key:
                self._by_story[story] = keep.key
        keep.heat.absorb(other.heat, self.settings.heat.half_life)
        self._touch(keep, other.last_at)
        keep.first_at = min(keep.first_at, other.first_at)
        keep.filed |= other.filed
        if keep.incident is not None:
            if other.incident is not None:
                absorbed = replace(other.incident, status=IncidentStatus.MERGED,
                                   merged_into=keep.incident.id, updated_at=now)
                changes.event(absorbed, now, "merged", actor, into=keep.incident.id)
                changes.incidents[absorbed.id] = absorbed
                changes.states.add(absorbed.id)
                changes.moved.append((absorbed.id, keep.incident.id))
                changes.event(keep.incident, now, "absorbed", actor,
                              from_incident=absorbed.id, items=other.count)
            else:
                for member in other.members:
                    self._file(keep, member, now, changes)
            self._reassess(keep, now, changes)
        return keep

    def tick(self, now: datetime, changes: Changes) -> None:
        """Time passes: heat decays, levels may drop, idle clusters are forgotten, and live
        incidents that have grown together merge."""
        at = now.timestamp()
        self._forget(at)
        self._forget_stories(at)
        self.baselines.advance(at)
        self._merge_incidents(now, changes)
        for key in sorted(self._by_incident.values()):
            cluster = self.clusters[key]
            incident = cluster.incident
            if incident is not None and incident.status in LIVE:
                heat, level = glance(cluster.heat, self._baseline(cluster, at),
                                     self.settings.levels)
                # decay alone is recorded when it has moved the heat by a tenth
                if level != incident.proposed_level or \
                        abs(heat - incident.heat) >= max(1.0, 0.1 * incident.heat):
                    self._reassess(cluster, now, changes, self._reading(cluster, now))

    def _merge_incidents(self, now: datetime, changes: Changes) -> None:
        """Two live incidents often start as two threads of one event (the parents' posts and
        the official notice); once their centroids come close they become one. Only incidents
        that took items since the last tick are compared, with those sharing a strong term."""
        grown, self._grown = self._grown, set()
        with_incidents = set(self._by_incident.values())
        for key in sorted(grown):
            first = self.clusters.get(key)
            if first is None or first.incident is None or not self._accepts(first):
                continue
            sharing = set().union(*(self._index.get(t, ()) for t in first.terms))
            others = sorted((sharing & with_incidents) - {key})
            for other_key in others:
                second = self.clusters.get(other_key)
                if (second is not None and second.incident is not None
                        and self._accepts(second)
                        and second.likeness(first) >= self.settings.cluster.merge_similarity):
                    first = self._merge(first, second, now, changes)

    # --- people's actions ------------------------------------------------------------------

    def act(self, stored: Incident, action: str, by: str, at: datetime, changes: Changes,
            **fields: object) -> Incident:
        """ack, milestone (kind and evidence), occurred (time), confirm (level), dismiss,
        close. ``stored`` is the incident as the store has it; the engine's own copy wins
        while its cluster is live."""
        key = self._by_incident.get(stored.id)
        cluster = self.clusters.get(key) if key is not None else None
        incident = cluster.incident if cluster is not None and cluster.incident else stored
        incident = apply_action(incident, action, by, at, changes, self.settings.dismiss_margin,
                                fields)
        if cluster is not None:
            if action == "dismiss":
                cluster.dismissed_heat = max(incident.heat, 1.0)
            cluster.incident = incident
        return incident

    def live_incident_ids(self) -> list[int]:
        return sorted(self._by_incident)

    def refresh(self, incident_id: int, status: IncidentStatus, level: str | None) -> None:
        """Take a person's change made through the store by another process (the command
        line): the stored status and level win over the engine's copy."""
        cluster = self.clusters.get(self._by_incident.get(incident_id, 0))
        if cluster is None or cluster.incident is None:
            return
        incident = cluster.incident
        if incident.status is not status or incident.level != level:
            if status is IncidentStatus.DISMISSED and cluster.dismissed_heat is None:
                cluster.dismissed_heat = max(incident.heat, 1.0)
            cluster.incident = replace(incident, status=status, level=level)

    def merge(self, first: int, second: int, by: str, at: datetime,
              changes: Changes) -> Incident:
        """A person merges two live incidents (one event told twice); the older survives."""
        if first == second:
            raise ActionError("an incident cannot be merged with itself")
        found = [self.clusters.get(self._by_incident.get(i, 0)) for i in (first, second)]
        live = [c for c in found if c is not None and c.incident is not None and self._accepts(c)]
        if len(live) != 2:
            raise ActionError(f"incidents #{first} and #{second} must both be live to merge")
        keep = self._merge(live[0], live[1], at, changes, by)
        if keep.incident is None:  # both had incidents; the survivor keeps one
            raise ActionError("merge lost the surviving incident")
        return keep.incident

    def split(self, stored: Incident, item_ids: set[int], by: str, at: datetime,
              changes: Changes) -> Incident:
        """Take the given items out of a live incident into a new one (a duty officer sees
        two events in one thread). Both get a timeline event; every item stays filed."""
        key = self._by_incident.get(stored.id)
        cluster = self.clusters.get(key) if key is not None else None
        if cluster is None or cluster.incident is None or not self._accepts(cluster):
            raise ActionError(f"incident #{stored.id} is not live; only a live incident can be "
                              "split")
        leaving = [m for m in cluster.members if m.item_id in item_ids]
        staying = [m for m in cluster.members if m.item_id not in item_ids]
        if not leaving or not staying:
            raise ActionError("a split needs items of the incident on both sides")
        old = cluster.incident
        self._drop(cluster)
        rebuilt = self._new_cluster(cluster.parent_id)
        rebuilt.incident, rebuilt.dismissed_heat = old, cluster.dismissed_heat
        rebuilt.filed = cluster.filed - item_ids
        self._by_incident[old.id] = rebuilt.key
        # the items' whole vectors are gone: what the clusters remember of them rebuilds them
        for member in staying:
            self._join(rebuilt, member, member.vector)
        part = self._new_cluster(None)
        for member in leaving:
            self._join(part, member, member.vector)
        part.filed = set(item_ids) & cluster.filed
        incident = Incident(id=self.next_incident_id, status=IncidentStatus.OPEN, title="",
                            opened_at=at, updated_at=at, first_item_id=leaving[0].item_id,
                            first_source=leaving[0].source)
        self.next_incident_id += 1
        self._known.add(incident.id)
        part.incident = self._describe(part, incident, at)
        self._by_incident[incident.id] = part.key
        changes.moved_items += [(i, old.id, incident.id) for i in sorted(item_ids)]
        changes.event(old, at, "split", by, into=incident.id, items=sorted(item_ids))
        changes.event(part.incident, at, "opened", by, split_from=old.id,
                      title=part.incident.title, items=len(leaving))
        self._reassess(rebuilt, at, changes)
        self._reassess(part, at, changes)
        return part.incident

    # --- restoring after a restart -------------------------------------------------------------

    def adopt(self, incident: Incident, dismissed_heat: float | None) -> None:
        """Register a stored incident before its items are observed quietly."""
        cluster = self._new_cluster(incident.parent_id)
        cluster.incident = incident
        cluster.dismissed_heat = dismissed_heat
        self._by_incident[incident.id] = cluster.key
        self._known.add(incident.id)
        self.next_incident_id = max(self.next_incident_id, incident.id + 1)

    def knows(self, incident_id: int) -> bool:
        """Whether the engine opened or took this incident (it may have forgotten it since)."""
        return incident_id in self._known

    def take_by_hand(self, incident: Incident, item_ids: Sequence[int], now: datetime,
                     changes: Changes) -> None:
        """Take an incident a person opened in the store: the threads holding its items
        become its cluster, with their other posts filed under it, so that what the story
        brings later joins it; its items the engine has not seen yet join when they come."""
        wanted = set(item_ids)
        holding = sorted(c.key for c in self.clusters.values() if c.incident is None
                         and any(m.item_id in wanted for m in c.members))
        cluster = self.clusters[holding[0]] if holding else self._new_cluster(None)
        for key in holding[1:]:
            cluster = self._merge(cluster, self.clusters[key], now, changes)
        cluster.incident = incident
        cluster.filed |= wanted
        self._by_incident[incident.id] = cluster.key
        self._known.add(incident.id)
        self.next_incident_id = max(self.next_incident_id, incident.id + 1)
        self._grown.add(cluster.key)
        seen = {m.item_id for m in cluster.members}
        self._awaited.update(dict.fromkeys(wanted - seen, incident.id))
        if cluster.members:
            for member in sorted(cluster.members, key=lambda m: (m.at, m.item_id)):
                self._file(cluster, member, now, changes)
            self._reassess(cluster, now, changes)

    def renumber(self, ids: dict[int, int]) -> None:
        """Incidents opened here took ids that another process gave first (a person opening
        one from the command line meanwhile): they are known by their new ids."""
        for old, new in ids.items():
            key = self._by_incident.pop(old, None)
            cluster = self.clusters.get(key) if key is not None else None
            if cluster is not None and cluster.incident is not None:
                cluster.incident = replace(cluster.incident, id=new)
                self._by_incident[new] = cluster.key
            self._known.discard(old)
            self._known.add(new)
            for item, incident in list(self._awaited.items()):
                if incident == old:
                    self._awaited[item] = new
        self.next_incident_id = max(self.next_incident_id, max(ids.values(), default=0) + 1)

    def _cluster_of_incident(self, incident_id: int) -> Cluster:
        key = self._by_incident.get(incident_id)
        if key is None or key not in self.clusters:
            raise KeyError(f"incident #{incident_id} was not adopted before its items")
        return self.clusters[key]


def _sketch(item: Item, body: str) -> Sketch:
    return sketch(f"{item.title}\n{body}")


def _index_terms(vector: Vector) -> set[str]:
    """The terms a cluster is found by: its strongest words, and its places (topic terms are
    shared by too many clusters to narrow anything down). Ties go by the term, as in top()."""
    return _strongest_index_terms(sorted((-v, t) for t, v in vector.items()))


def _strongest_index_terms(ranked: list[tuple[float, str]]) -> set[str]:
    """_index_terms of a vector already ranked as (-weight, term) pairs. Its places always
    count: the threads of one event may share nothing else (see _sibling_threads)."""
    return set(islice((t for _, t in ranked if t[0] != "#"), INDEX_TERMS)) | {
        t for _, t in ranked if t[0] == "@"}


def _common_terms(stories: list[Member], most: int = 3) -> list[str]:
    """The risk categories that a third of the stories share, weightiest first (each item
    lists its categories weightiest first)."""
    ranks: dict[str, list[int]] = {}
    for m in stories:
        for rank, term in enumerate(m.risk_terms):
            ranks.setdefault(term, []).append(rank)
    shared = [t for t, r in ranks.items() if 3 * len(r) >= len(stories)]
    return sorted(shared, key=lambda t: (sum(ranks[t]) / len(ranks[t]), t))[:most]


def _hours(seconds: float) -> float | int:
    hours = seconds / 3600
    return int(hours) if hours == int(hours) else round(hours, 1)


def _places(cluster: Cluster) -> set[str]:
    return {p for m in cluster.members[-20:] for p in m.places}


ACTIONS = ("ack", "confirm", "dismiss", "milestone", "occurred", "note", "close")
MILESTONE_KINDS = ("authoritative_release", "press_conference", "follow_up", "internal_report")


def _record(incident: Incident, action: str, by: str, at: datetime, changes: Changes,
            fields: dict[str, object]) -> Incident:
    """A milestone with its evidence, or the time the event happened."""
    if action == "occurred":
        when = _aware_time(fields.get("time"), "occurred")
        changes.event(incident, at, "occurred_set", by, time=when.isoformat(),
                      **backdating(when, at, "occurred"))
        return incident
    evidence = _evidence(fields)
    if "time" in evidence:
        evidence.update(backdating(datetime.fromisoformat(str(evidence["time"])), at,
                                    f"the {evidence['kind']} milestone"))
    if incident.status in (IncidentStatus.OPEN, IncidentStatus.CONFIRMED):
        incident = replace(incident, status=IncidentStatus.RESPONDING)
    changes.event(incident, at, "milestone_recorded", by, **evidence,
                  status=incident.status.value)
    return incident


BACKDATED = timedelta(hours=1)  # an entry for a time longer ago than this is 补录
FUTURE_GRACE = timedelta(minutes=5)  # clocks differ a little; a time to come is refused


def backdating(when: datetime, at: datetime, what: str) -> dict[str, object]:
    """A time in the future is refused; one more than an hour before it is recorded marks
    the entry as backdated (补录), so that an evaluator sees who recorded it when (the event's
    actor and time) for a time long before."""
    if when > at + FUTURE_GRACE:
        raise ActionError(f"{what}: {when.isoformat()} is in the future (it is recorded at "
                          f"{at.isoformat()}); give the time it happened")
    return {"backdated": True} if when < at - BACKDATED else {}


def _aware_time(value: object, what: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ActionError(f"{what} needs 'time', an ISO 8601 time such as "
                              f"2026-03-02T09:15:00+08:00 (got {value!r})") from None
    if parsed.tzinfo is None:
        raise ActionError(f"{what}: give the time with its zone, e.g. +08:00 (got {value!r})")
    return parsed


def _evidence(fields: dict[str, object]) -> dict[str, object]:
    """A milestone counts only with its evidence: the URL or document of the release, and
    optionally the channel, the spokesperson and when it happened (default: now)."""
    kind = fields.get("kind")
    if kind not in MILESTONE_KINDS:
        raise ActionError(f"a milestone needs 'kind', one of {', '.join(MILESTONE_KINDS)} "
                          f"(got {kind!r})")
    if not fields.get("url") and not fields.get("document"):
        raise ActionError(f"the {kind} milestone needs its evidence: 'url' of the release or "
                          "'document' (the document number or file)")
    evidence: dict[str, object] = {"kind": kind}
    for name in ("url", "document", "channel", "spokesperson"):
        if fields.get(name):
            evidence[name] = str(fields[name])
    if fields.get("time"):
        evidence["time"] = _aware_time(fields["time"], f"the {kind} milestone").isoformat()
    return evidence


def apply_action(incident: Incident, action: str, by: str, at: datetime, changes: Changes,
                 dismiss_margin: float, fields: dict[str, object]) -> Incident:
    """A person's action on an incident: the new incident and its timeline event."""
    incident_id = incident.id
    if incident.status is IncidentStatus.MERGED:
        raise ActionError(f"incident #{incident_id} was merged into #{incident.merged_into}")
    if incident.status is IncidentStatus.CLOSED and action != "ack":
        raise ActionError(f"incident #{incident_id} is closed")
    if action == "ack":
        # through which channel and which signed link, when it came from an alert
        changes.event(incident, at, "acknowledged", by,
                      **{k: str(fields[k]) for k in ("via", "token") if fields.get(k)})
    elif action == "confirm":
        level = fields.get("level") or incident.proposed_level
        if level not in ("I", "II", "III", "IV"):
            raise ActionError(f"confirm needs a level I, II, III or IV (got {level!r})")
        status = (incident.status if incident.status is IncidentStatus.RESPONDING
                  else IncidentStatus.CONFIRMED)
        incident = replace(incident, status=status, level=str(level))
        changes.event(incident, at, "confirmed", by, level=level,
                      proposed=incident.proposed_level)
    elif action == "dismiss":
        incident = replace(incident, status=IncidentStatus.DISMISSED)
        changes.event(incident, at, "dismissed", by, heat=incident.heat,
                      comes_back_at_heat=round(max(incident.heat, 1.0) * dismiss_margin, 1))
    elif action == "note":
        note = str(fields.get("text") or "").strip()
        if not note or len(note) > 2000:
            raise ActionError("a note needs 'text', up to 2,000 characters")
        changes.event(incident, at, "note", by, text=note)
    elif action in ("milestone", "occurred"):
        incident = _record(incident, action, by, at, changes, fields)
    elif action == "close":
        incident = replace(incident, status=IncidentStatus.CLOSED)
        changes.event(incident, at, "closed", by)
    else:
        raise ActionError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    incident = replace(incident, updated_at=at)
    changes.incidents[incident.id] = incident
    changes.states.add(incident.id)
    return incident
