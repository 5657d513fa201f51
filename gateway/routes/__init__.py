"""Route handlers: each one only calls the pipeline."""
