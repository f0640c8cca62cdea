from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomFieldsConfig(AppConfig):
    name = "bizloom.platform.customfields"
    label = "customfields"
    verbose_name = _("Custom fields")

    def ready(self) -> None:
        from bizloom.platform import navigation

        navigation.register("settings", _("Settings"), 90, navigation.NavItem(
            _("Custom fields"), "customfields:list", "customfields.change_customfield"))
