"""Audit trail: who changed what, when and through which channel; append-only."""
