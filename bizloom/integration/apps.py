from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationConfig(AppConfig):
    name = "bizloom.integration"
    label = "integration"
    verbose_name = _("Integration")

    def ready(self) -> None:
        from django.core import checks

        from bizloom.platform.api.core import check_docs_assets

        checks.register(check_docs_assets, checks.Tags.urls)

        from bizloom.platform import navigation

        navigation.register_user_menu(navigation.NavItem(_("API tokens"), "integration:token_list"))

        # Import engine (issue #5): every app's ``imports.IMPORT_DECLARATIONS``.
        from bizloom.integration.imports.declarations import autodiscover, declarations

        autodiscover()
        navigation.register_user_menu(navigation.NavItem(
            _("Imports"), "imports:list",
            visible=lambda user: any(declaration.may(user, "import") for declaration in declarations())))
