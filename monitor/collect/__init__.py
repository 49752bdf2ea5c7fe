"""Collectors: fetch feeds over HTTP, decode them into items, keep each source's health."""
