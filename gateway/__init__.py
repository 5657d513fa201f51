"""The HTTP side of guardgate: the OpenAI-compatible app, the upstream client and streaming."""
