"""What this area registers at start-up (navigation, search, detail sections, timeline,
demo builders, scheduled jobs, event handlers); called from ``CrmConfig.ready``."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Register this area's pieces with the platform: the "Forecast", "Pipeline analysis" and
    "Sales targets" menu entries and the demo builder (targets of the demo sales reps)."""
    from bizloom.crm.forecast import demo  # noqa: F401 - registers the demo builder and role grants
    from bizloom.platform import navigation

    navigation.register("crm", _("CRM"), 10,
                        navigation.NavItem(_("Forecast"), "crm:forecast_report", "crm.view_opportunity"),
                        navigation.NavItem(_("Pipeline analysis"), "crm:pipeline_analysis_report",
                                           "crm.view_opportunity"),
                        navigation.NavItem(_("Sales targets"), "crm:target_list", "crm.view_salestarget"))
