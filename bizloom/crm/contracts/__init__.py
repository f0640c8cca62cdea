"""Contracts and their renewal reminders."""
