"""Route handlers: each one only calls the pipeline."""

from __future__ import annotations

from litestar import Request

from gateway.pipeline import Pipeline


def pipeline_of(request: Request) -> Pipeline:
    """The app's pipeline, set by the lifespan (read from state: Litestar 2.25 deprecates the inferred dependency)."""
    return request.app.state.pipeline
