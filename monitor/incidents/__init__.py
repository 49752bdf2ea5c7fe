"""Incidents: stories of near-duplicate items, online clustering, heat, levels, lifecycle."""

from __future__ import annotations

from monitor.analyze.analyzer import Analyzer
from monitor.incidents.engine import Engine
from monitor.incidents.gazetteer import load_gazetteer
from monitor.incidents.settings import IncidentSettings
from monitor.incidents.vectors import Vectorizer


def make_engine(analyzer: Analyzer, settings: IncidentSettings) -> Engine:
    places = analyzer.profile.places
    regions = {p.name: p.region for p in places if p.region}
    weights = settings.cluster.place_weight
    place_weights = {p.name: weights.get(p.kind, weights["unit"]) for p in places}
    own = [n for p in places for n in (p.name, *p.aliases)]
    vectorizer = Vectorizer(analyzer.model, analyzer.segmenter, place_weights,
                            settings.cluster.topic_weight, load_gazetteer(skip=own),
                            settings.cluster.other_place_weight)
    return Engine(settings, vectorizer, regions)
