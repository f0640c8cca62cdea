"""What this area registers at start-up (navigation, search, detail sections, timeline,
demo builders, scheduled jobs, event handlers); called from ``CrmConfig.ready``."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Register this area's pieces with the platform: the menu entries (Opportunities, Pipeline
    board, Pipeline settings), search over opportunity names, the "Opportunities" section of the
    account page and the demo builder (with the roles' permissions)."""
    from django.apps import apps
    from django.db.models.signals import post_migrate

    from bizloom.crm.models import Account, Opportunity
    from bizloom.crm.pipeline import defaults, views
    from bizloom.crm.pipeline import demo as _demo  # noqa: F401 - registers the demo builder and grants
    from bizloom.platform import navigation, search
    from bizloom.platform.detail import RelatedSection
    from bizloom.platform.detail import sections as detail_sections

    navigation.register("crm", _("CRM"), 10,
                        navigation.NavItem(_("Opportunities"), "crm:opportunity_list", "crm.view_opportunity"),
                        navigation.NavItem(_("Pipeline board"), "crm:pipeline_board_default",
                                           "crm.view_opportunity"))
    navigation.register("settings", _("Settings"), 90,
                        navigation.NavItem(_("Pipelines"), "crm:pipeline_list", "crm.view_pipeline"))
    search.register(Opportunity, ("name",), "crm:opportunity_detail")
    post_migrate.connect(defaults.after_migrate, sender=apps.get_app_config("crm"),
                         dispatch_uid="crm.pipeline.defaults")
    detail_sections.register(RelatedSection("opportunities", _("Opportunities"), "crm/pipeline/_account_section.html",
                                            lambda account, user: views.account_section(account, user), order=20),
                             Account)
