"""The web face of the service: sign-in and roles, the board, incident pages, items, sources
and watch plans, and the JSON API."""
