"""The shared list page: declare a :class:`ListConfig`, mount :func:`list_urls`, done.

Example (``crm/lists.py``)::

    ACCOUNT_LIST = ListConfig(
        key="crm.account", model=Account, queryset=selectors.list_accounts, url_prefix="crm:account",
        columns=[Column("name", link=True), Column("tier"), Column("annual_revenue", currency_field="currency")],
        search_fields=("name", "code"), filters=[ChoiceFilter("tier"), OwnerFilter()], default_sort="name",
        bulk_actions=[BulkAction("delete", _("Delete"), "delete", delete_selected)],
    )
"""

from bizloom.platform.listing.columns import Column
from bizloom.platform.listing.config import BulkAction, ListConfig, ListState, filtered_queryset
from bizloom.platform.listing.filters import BooleanFilter, ChoiceFilter, DateRangeFilter, Filter, OwnerFilter
from bizloom.platform.listing.views import list_urls, list_view

__all__ = [
    "BooleanFilter", "BulkAction", "ChoiceFilter", "Column", "DateRangeFilter", "Filter", "ListConfig", "ListState",
    "OwnerFilter", "filtered_queryset", "list_urls", "list_view",
]
