"""What this area registers at start-up (navigation, search, detail sections, timeline,
demo builders, scheduled jobs, event handlers); called from ``CrmConfig.ready``."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Register this area's pieces with the platform: the "Leads" menu entry, global search
    over leads, and the demo builder."""
    from bizloom.crm.leads import demo  # noqa: F401 - registers the demo builder and role grants
    from bizloom.crm.models import Lead
    from bizloom.platform import navigation, search

    navigation.register("crm", _("CRM"), 10, navigation.NavItem(_("Leads"), "crm:lead_list", "crm.view_lead"))
    search.register(Lead, ("name", "company", "email", "mobile"), "crm:lead_detail")
