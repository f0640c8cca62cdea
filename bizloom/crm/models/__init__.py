"""CRM records, one module per area; import them from here (``from bizloom.crm.models import Account``)."""

from bizloom.crm.models.accounts import Account, Contact, Tag
from bizloom.crm.models.activities import Activity, CalendarFeed
from bizloom.crm.models.contracts import Contract
from bizloom.crm.models.leads import Lead, Source
from bizloom.crm.models.merging import DuplicatePair
from bizloom.crm.models.pipeline import (
    Competitor,
    LossReason,
    Opportunity,
    OpportunityLine,
    Pipeline,
    SalesTarget,
    Stage,
    StageHistory,
)

__all__ = [
    "Account", "Activity", "CalendarFeed", "Competitor", "Contact", "Contract", "DuplicatePair", "Lead",
    "LossReason", "Opportunity", "OpportunityLine", "Pipeline", "SalesTarget", "Source", "Stage", "StageHistory",
    "Tag",
]
