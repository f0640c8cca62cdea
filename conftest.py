"""Test-suite settings: the environment must be set before Django reads its settings."""

import os

os.environ.setdefault("BIZLOOM_TESTING", "1")
os.environ.setdefault("BIZLOOM_SECRET_KEY", "test-secret-key-for-the-test-suite-only-0123456789abcdef")
