from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class PlatformConfig(AppConfig):
    name = "bizloom.platform"
    label = "platform"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from bizloom.platform import jobs  # noqa: F401  (registers the platform's periodic jobs)
        from bizloom.platform.collation import register_sqlite_collation

        connection_created.connect(register_sqlite_collation, dispatch_uid="bizloom_zh_collation")

        from bizloom.platform import navigation

        navigation.register("settings", _("Settings"), 90, navigation.NavItem(
            _("Organisation and access"), "org:home", "platform.manage_roles"))
