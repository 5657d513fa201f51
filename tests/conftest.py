"""Fixtures live in tests/fixtures/, one module per real service; they start once per session."""

pytest_plugins = [
    "tests.fixtures.vllm",
    "tests.fixtures.databases",
    "tests.fixtures.gateway",
    "tests.fixtures.scripted_upstream",
]
