"""JSON API for what people do to incidents. Every action is recorded on the incident's
timeline with the signed-in user as its actor."""

from __future__ import annotations

import json

from aiohttp import web

from monitor.clock import Clock
from monitor.incidents.engine import ACTIONS, ActionError
from monitor.incidents.stage import IncidentStage
from monitor.web.auth import USER, require


def action_routes(incidents: IncidentStage, clock: Clock) -> list[web.RouteDef]:
    @require("duty_officer", "admin")
    async def act(request: web.Request) -> web.Response:
        try:
            incident_id = int(request.match_info["id"])
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "a JSON body and a numeric incident id"},
                                     status=400)
        if not isinstance(body, dict) or body.get("action") not in ACTIONS:
            return web.json_response({"error": f"'action' must be one of {', '.join(ACTIONS)}"},
                                     status=400)
        fields = {k: v for k, v in body.items() if k != "action"}
        user = request[USER]
        try:
            updated = await incidents.act_on(incident_id, body["action"], user.display_name,
                                             clock.now(), **fields)
        except ActionError as exc:
            return web.json_response({"error": str(exc)}, status=409)
        return web.json_response({"id": updated.id, "status": updated.status.value,
                                  "level": updated.level},
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))

    return [web.post("/api/incidents/{id}/actions", act)]
