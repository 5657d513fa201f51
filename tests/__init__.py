"""guardgate tests."""
