from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NumberingConfig(AppConfig):
    name = "bizloom.platform.numbering"
    label = "numbering"
    verbose_name = _("Numbering")

    def ready(self) -> None:
        from bizloom.platform import navigation

        navigation.register("settings", _("Settings"), 90, navigation.NavItem(
            _("Document numbers"), "numbering:sequence_list", "numbering.change_numbersequence"))
