from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "bizloom.platform.events"
    label = "events"
    verbose_name = _("Domain events")

    def ready(self) -> None:
        # Registration happens in one place: each app's handlers.py. The periodic sweep lives in
        # jobs.py, which the scheduler imports; importing it here too makes it known to every process.
        autodiscover_modules("handlers")
        from bizloom.platform import navigation
        from bizloom.platform.events import jobs  # noqa: F401

        navigation.register("settings", _("Settings"), 90, navigation.NavItem(
            _("Event outbox"), "events:outbox", "events.change_outboxmessage"))
