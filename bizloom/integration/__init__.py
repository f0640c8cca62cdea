"""Integration: API tokens, webhooks, import/export, connectors."""
