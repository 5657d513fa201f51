"""Audit: what every request decided, stored off the request path, and the metrics operators watch."""
