"""What this area registers at start-up (navigation, search, detail sections, timeline,
demo builders, scheduled jobs, event handlers); called from ``CrmConfig.ready``."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Register this area's pieces: the "Possible duplicates" menu entry, the nightly scan
    (job ``crm.scan_duplicates``), the handlers that queue a new account's or contact's likely
    duplicates, and the demo builder."""
    from bizloom.crm.merging import demo, handlers, jobs  # noqa: F401 - demo registers its builder
    from bizloom.platform import navigation, scheduler

    navigation.register("crm", _("CRM"), 10, navigation.NavItem(_("Possible duplicates"), "crm:duplicate_list",
                                                                 "crm.view_duplicatepair"))
    scheduler.register("crm.scan_duplicates", jobs.scan_duplicates, jobs.SCAN_EVERY)
    handlers.register()
