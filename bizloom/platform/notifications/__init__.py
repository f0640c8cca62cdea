"""Notifications: in-app bell and e-mail, per user preferences."""
