from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TimelineConfig(AppConfig):
    name = "bizloom.platform.timeline"
    label = "timeline"
    verbose_name = _("Timeline")

    def ready(self) -> None:
        from bizloom.platform.detail import timeline
        from bizloom.platform.timeline.providers import attachment_entries, comment_entries

        timeline.register(comment_entries)
        timeline.register(attachment_entries)
