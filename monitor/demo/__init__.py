"""The bundled demo: a 48-hour scenario and the service run on it live."""
