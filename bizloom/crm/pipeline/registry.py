"""What this area registers at start-up (navigation, search, detail sections, timeline,
demo builders, scheduled jobs, event handlers); called from ``CrmConfig.ready``."""


def register() -> None:
    """Register this area's pieces with the platform."""
