"""What this area registers at start-up (navigation, search, detail sections, timeline,
demo builders, scheduled jobs, event handlers); called from ``CrmConfig.ready``.

It also registers the account 360 pieces of ``bizloom.crm.account360`` (the contacts and
child-account sections and the account's timeline of everything): the accounts code has no
registry of its own and ``CrmConfig.ready`` calls the areas' ``register`` functions.
"""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Register this area's pieces with the platform."""
    from bizloom.crm import account360
    from bizloom.crm.contracts import demo, jobs, sections, services  # noqa: F401  (demo builders, jobs, kinds)
    from bizloom.crm.models import Account, Contract
    from bizloom.platform import navigation, search
    from bizloom.platform.detail import RelatedSection
    from bizloom.platform.detail import sections as detail_sections

    navigation.register("crm", _("CRM"), 10,
                        navigation.NavItem(_("Contracts"), "crm:contract_list", "crm.view_contract"))
    search.register(Contract, ("number", "title", "customer_reference"), "crm:contract_detail")
    account360.register()
    detail_sections.register(RelatedSection("contracts", _("Contracts"), "crm/contracts/_account_section.html",
                                            sections.account_contracts, order=40), Account)
