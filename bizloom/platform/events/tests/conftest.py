from bizloom.platform.events.tests.fixtures import subscribe  # noqa: F401
