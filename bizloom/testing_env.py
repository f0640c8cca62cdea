"""pytest plugin (loaded with ``-p bizloom.testing_env``) that sets the test environment.

It must run before pytest-django reads the settings, which happens before any conftest.
"""

import os

os.environ.setdefault("BIZLOOM_TESTING", "1")
os.environ.setdefault("BIZLOOM_SECRET_KEY", "test-secret-key-for-the-test-suite-only-0123456789abcdef")
