"""The OpenAPI 3.1 document of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from monitor.evaluate.assess import DECISIONS
from monitor.evaluate.findings import GROUNDS, MEASURES
from monitor.evaluate.formats import FORMATS
from monitor.incidents.engine import ACTIONS, MILESTONE_KINDS
from monitor.incidents.intake import CHANNELS, MAX_TEXT, MAX_TITLE
from monitor.incidents.settings import LEVELS

_JSON = {"application/json": {"schema": {"type": "object"}}}
_SESSION: list[dict[str, list[str]]] = [{"session": []}]


def _ok(description: str) -> dict[str, Any]:
    return {"200": {"description": description, "content": _JSON}}


def _form(summary: str, fields: dict[str, Any], by_id: bool = True) -> dict[str, Any]:
    """A state-changing form endpoint: the session, its CSRF token (field or header), and a
    redirect (303) to the page that shows the result. ``by_id``: the path names a thing."""
    return {"post": {
        "summary": summary, "security": [{"session": [], "csrf": []}],
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}] if by_id else [],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "properties": {"csrf": {"type": "string"},
                                                        **fields}}}}},
        "responses": {"303": {"description": "done; see the Location"},
                      "403": {"description": "not allowed, or no CSRF token"},
                      "409": {"description": "the action does not apply"}}}}


_SITUATION_PERIOD = [
    {"name": "period", "in": "query",
     "schema": {"enum": ["today", "7d", "30d", "custom"], "default": "7d"}},
    {"name": "from", "in": "query", "description": "custom: first day, Beijing time",
     "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "description": "custom: last day, inclusive",
     "schema": {"type": "string", "format": "date"}}]
_REPORT_FORMAT = {"name": "format", "in": "query", "schema": {"enum": list(FORMATS),
                                                             "default": "html"}}
_REPORT_RESPONSES = {
    "200": {"description": "the report; other than HTML, as an attachment", "content": {
        "text/html": {}, "text/markdown": {}, "application/pdf": {},
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {}}},
    "403": {"description": "not a leader, evaluator or admin"}}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "卫生健康舆情监测与回应 API", "version": "1"},
    "components": {"securitySchemes": {
        "session": {"type": "apiKey", "in": "cookie", "name": "monitor_session"},
        "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}}},
    "paths": {
        "/healthz": {"get": {"summary": "Service health: the store answers; failing sources",
                             "responses": {**_ok("healthy"), "503": {"description": "no store"}}}},
        "/api/me": {"get": {"summary": "Who is signed in, with the session's CSRF token",
                            "security": _SESSION,
                            "responses": {**_ok("the user"), "401": {"description": "signed out"}}}},
        "/api/board": {"get": {"summary": "Live incidents by next deadline", "security": _SESSION,
                               "responses": _ok("the board")}},
        "/api/incidents": {"get": {"summary": "Every incident, newest first",
                                   "security": _SESSION, "responses": _ok("incidents")}},
        "/api/items": {"get": {
            "summary": "The newest items holding every word of q (jieba-segmented)",
            "security": _SESSION,
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
            "responses": _ok("items")}},
        "/api/sources": {"get": {"summary": "Each source with its health",
                                 "security": _SESSION, "responses": _ok("sources")}},
        "/api/plans": {"get": {"summary": "The watch plans with their latest matches",
                               "security": _SESSION, "responses": _ok("plans")}},
        "/api/situation": {"get": {
            "summary": "舆情态势 of a period: KPIs, trend, tone, topics, media types, "
                       "counties, hot words, top incidents, silent sources",
            "security": _SESSION, "parameters": _SITUATION_PERIOD,
            "responses": {**_ok("the figures the situation page draws"),
                          "400": {"description": "a period or dates that cannot be read "
                                                 "(the error is in Chinese)"},
                          "401": {"description": "signed out"}}}},
        "/situation.xlsx": {"get": {
            "summary": "舆情态势 of a period as Excel (de-identified item list, capped at "
                       "50,000 rows)",
            "security": _SESSION, "parameters": _SITUATION_PERIOD,
            "responses": {"200": {"description": "an attachment, 舆情态势_{from}_{to}.xlsx",
                                  "content": {"application/vnd.openxmlformats-officedocument."
                                              "spreadsheetml.sheet": {}}},
                          "400": {"description": "a period or dates that cannot be read"}}}},
        "/items/{id}/label": _form("Label feedback for retraining (duty officers)",
                                   {"relevant": {"enum": ["1", "0"]},
                                    "topic": {"type": "string"}}),
        "/incidents/new": {"post": {
            **_form("人工立案: open an incident from a report (duty officers); 400 shows the "
                    "form again with the reason",
                    {"title": {"type": "string", "maxLength": MAX_TITLE},
                     "text": {"type": "string", "maxLength": MAX_TEXT},
                     "channel": {"enum": list(CHANNELS)},
                     "at": {"type": "string", "description": "when the office learned of it; "
                            "without a zone, Asia/Shanghai"},
                     "occurred": {"type": "string"}, "level": {"enum": ["", *LEVELS]},
                     "region": {"type": "string"},
                     "item_urls": {"type": "string", "description": "one URL a line"}},
                    by_id=False)["post"],
            "responses": {"303": {"description": "opened; Location is the incident"},
                          "400": {"description": "the form again, with why it was refused"},
                          "403": {"description": "not a duty officer, or no CSRF token"}}}},
        "/items/{id}/open": _form("立案 from a stored item in no incident (duty officers); "
                                  "one already filed redirects to its incident", {}),
        "/incidents/{id}/merge": _form("Merge with another live incident (duty officers)",
                                       {"into": {"type": "integer"}}),
        "/incidents/{id}/split": _form("Move chosen items into a new incident (duty officers)",
                                       {"item": {"type": "array",
                                                 "items": {"type": "integer"}}}),
        "/incidents/{id}/evaluation": _form(
            "An evaluator's decision on one finding, or `decision=record` to put the "
            "evaluation on the timeline (evaluators)",
            {"ground": {"enum": list(GROUNDS)}, "decision": {"enum": [*DECISIONS, "record"]},
             "measure": {"enum": list(MEASURES)}, "reason": {"type": "string"},
             "unit": {"type": "string"}}),
        "/incidents/{id}/report": {"get": {
            "summary": "The incident report (专报) in a format (leaders, evaluators, admins)",
            "security": _SESSION,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}, _REPORT_FORMAT],
            "responses": _REPORT_RESPONSES}},
        "/reports/period": {"get": {
            "summary": "The report of the days from `from` to `to`, inclusive (日报, 周报, "
                       "月报, 季报 by the dates; leaders, evaluators, admins)",
            "security": _SESSION,
            "parameters": [{"name": "from", "in": "query", "required": True,
                            "schema": {"type": "string", "format": "date"}},
                           {"name": "to", "in": "query", "required": True,
                            "schema": {"type": "string", "format": "date"}}, _REPORT_FORMAT],
            "responses": {**_REPORT_RESPONSES,
                          "400": {"description": "dates missing, reversed or over 400 days"}}}},
        "/api/incidents/{id}": {"get": {
            "summary": "One incident with its deadlines and timeline", "security": _SESSION,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {**_ok("the incident"), "404": {"description": "no such incident"}}}},
        "/api/incidents/{id}/analysis": {"get": {
            "summary": "事件分析: items and negative share per hour, milestones, deadlines, "
                       "propagation path, key posts, hot words, media types and districts",
            "security": _SESSION,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {**_ok("the figures the incident page's charts draw"),
                          "401": {"description": "signed out"},
                          "404": {"description": "no such incident"}}}},
        "/incidents/{id}/items.xlsx": {"get": {
            "summary": "The incident's items, propagation path and timeline as Excel "
                       "(de-identified)",
            "security": _SESSION,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "an attachment, 事件{id}_信息.xlsx", "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
                "404": {"description": "no such incident"}}}},
        "/api/incidents/{id}/actions": {"post": {
            "summary": "A duty officer's action; the signed-in user is its actor",
            "security": [{"session": [], "csrf": []}],
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"], "properties": {
                    "action": {"enum": list(ACTIONS)},
                    "level": {"enum": ["I", "II", "III", "IV"]},
                    "kind": {"enum": list(MILESTONE_KINDS)},
                    "url": {"type": "string"}, "document": {"type": "string"},
                    "channel": {"type": "string"}, "spokesperson": {"type": "string"},
                    "time": {"type": "string", "format": "date-time"},
                    "text": {"type": "string", "maxLength": 2000}}}}}},
            "responses": {**_ok("the incident's new status"),
                          "403": {"description": "not a duty officer, or no CSRF token"},
                          "409": {"description": "the action does not apply"}}}},
    },
}


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
