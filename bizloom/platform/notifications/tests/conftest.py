from bizloom.platform.notifications.tests.fixtures import *  # noqa: F403
