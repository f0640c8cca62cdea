from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "bizloom.platform.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from bizloom.platform import navigation

        navigation.register_user_menu(
            navigation.NavItem(_("Notifications"), "notifications:list"),
            navigation.NavItem(_("Notification settings"), "notifications:preferences"),
        )
