"""Policies: the YAML schema, loading and compiling it, and evaluating a stage."""
