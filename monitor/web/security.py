"""What every response of the dashboard tells the browser: run only our own scripts, never
inside another site's frame, no guessing of content types, no referrer (acknowledgement links
carry a signature), nothing personal kept in caches; and a Server header that names no
versions. The pages' scripts are served from /static, so the policy allows no inline script."""

from __future__ import annotations

from aiohttp import web

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
          "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STATIC = "/static/"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An ``on_response_prepare`` handler, so that error pages and redirects carry them too."""
    response.headers.update(HEADERS)
    response.headers["Server"] = "health-opinion-monitor"
    # the scripts may be cached; every other answer may hold names, phones or incidents
    response.headers["Cache-Control"] = ("no-cache" if request.path.startswith(STATIC)
                                         else "no-store")
