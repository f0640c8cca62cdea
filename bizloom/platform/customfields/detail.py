"""Custom fields on detail pages: a field group built from the definitions at render time.

::

    config = with_custom_fields(ACCOUNT_DETAIL)      # in the view, per request
    return render_detail(request, config, account)

The group's fields are named ``cf_<key>``, so access field rules hide them like any field.
"""

from __future__ import annotations

import dataclasses

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bizloom.platform.customfields import listing, selectors
from bizloom.platform.detail import DetailConfig, FieldGroup


def custom_field_group(model: type, label: str | Promise | None = None) -> FieldGroup | None:
    """A "Custom fields" group with one entry per active custom field of ``model`` (None if none)."""
    columns = [listing.column_for(field) for field in selectors.definitions_for(model)]
    if not columns:
        return None
    return FieldGroup(label if label is not None else _("Custom fields"), columns)


def with_custom_fields(config: DetailConfig, label: str | Promise | None = None) -> DetailConfig:
    """``config`` plus the custom field group of its model (``config`` itself when there are none)."""
    group = custom_field_group(config.model, label)
    if group is None:
        return config
    return dataclasses.replace(config, groups=[*config.groups, group])
