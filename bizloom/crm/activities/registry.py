"""What this area registers at start-up (navigation, search, detail sections, timeline,
demo builders, scheduled jobs, event handlers); called from ``CrmConfig.ready``."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Register this area's pieces with the platform: the menu entries (My day, Activities,
    Calendar), search over subjects, the "Activities" section and the done activities on the
    timeline of accounts, contacts, leads, opportunities and contracts, the reminder job (every
    minute) with its notification kind, and the demo builder."""
    from bizloom.crm.activities import demo as _demo  # noqa: F401 - registers the demo builder
    from bizloom.crm.activities import reminders, sections
    from bizloom.crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
    from bizloom.platform import navigation, scheduler, search
    from bizloom.platform.detail import sections as detail_sections
    from bizloom.platform.detail import timeline

    navigation.register("crm", _("CRM"), 10,
                        navigation.NavItem(_("My day"), "crm:activity_my_day", "crm.view_activity"),
                        navigation.NavItem(_("Activities"), "crm:activity_list", "crm.view_activity"),
                        navigation.NavItem(_("Calendar"), "crm:activity_calendar", "crm.view_activity"))
    search.register(Activity, ("subject",), "crm:activity_detail")
    for model in (Account, Contact, Lead, Opportunity, Contract):
        detail_sections.register(sections.ACTIVITY_SECTION, model)
        timeline.register(sections.timeline_entries, model)
    scheduler.register(reminders.JOB_NAME, reminders.queue_activity_reminders, reminders.JOB_EVERY)
