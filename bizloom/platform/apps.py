from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlatformConfig(AppConfig):
    name = "bizloom.platform"
    label = "platform"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from bizloom.platform import jobs  # noqa: F401  (registers the platform's periodic jobs)
