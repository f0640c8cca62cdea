"""Bizloom: one system for CRM and ERP."""

__version__ = "0.1.0"
