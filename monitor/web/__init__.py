"""The web face of the service: sign-in, roles, and (to come) the board and incident pages."""
