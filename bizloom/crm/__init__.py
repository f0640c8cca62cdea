"""CRM: accounts, contacts, leads, opportunities, activities, contracts."""
