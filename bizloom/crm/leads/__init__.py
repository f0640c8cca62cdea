"""Leads and their conversion into account, contact and opportunity."""
