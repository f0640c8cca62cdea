"""Custom fields: administrator-defined, typed fields on any business model (issue #3).

* models: :class:`~.models.CustomField` (definitions), :class:`~.models.CustomFieldsMixin`
  (``custom_data`` on a business model);
* services: :func:`~.services.validate_custom_values` (every write path), definition changes
  that never lose values silently;
* forms: :class:`~.forms.CustomFieldsFormMixin`; lists: ``ListConfig(custom_fields=True)``
  (:mod:`.listing`); detail pages: :func:`~.detail.with_custom_fields`; API: :mod:`.api`;
* settings pages: :mod:`.urls` (mounted at ``/settings/custom-fields/``).
"""
