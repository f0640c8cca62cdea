from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportJobsConfig(AppConfig):
    name = "bizloom.platform.exportjobs"
    label = "exportjobs"
    verbose_name = _("Exports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declares the "exports.ready" notification kind, so preferences list it before any export runs.
        from bizloom.platform import export_jobs  # noqa: F401
