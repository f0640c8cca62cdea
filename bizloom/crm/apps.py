from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "bizloom.crm"
    label = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from bizloom.crm import models
        from bizloom.platform import navigation, search

        navigation.register("crm", _("CRM"), 10,
                            navigation.NavItem(_("Accounts"), "crm:account_list", "crm.view_account"),
                            navigation.NavItem(_("Contacts"), "crm:contact_list", "crm.view_contact"))
        search.register(models.Account, ("name", "code", "city", "email"), "crm:account_detail")
        search.register(models.Contact, ("name", "email", "mobile"), "crm:contact_detail")

        from bizloom.crm.activities import registry as activities
        from bizloom.crm.contracts import registry as contracts
        from bizloom.crm.forecast import registry as forecast
        from bizloom.crm.leads import registry as leads
        from bizloom.crm.merging import registry as merging
        from bizloom.crm.pipeline import registry as pipeline

        for area in (pipeline, forecast, leads, merging, activities, contracts):
            area.register()
        # The order a salesperson works in: today's work, then prospects, customers, deals, analysis.
        navigation.arrange("crm", [
            "crm:activity_my_day", "crm:lead_list", "crm:account_list", "crm:contact_list", "crm:opportunity_list",
            "crm:pipeline_board_default", "crm:activity_list", "crm:activity_calendar", "crm:contract_list",
            "crm:forecast_report", "crm:pipeline_analysis_report", "crm:target_list", "crm:duplicate_list"])
