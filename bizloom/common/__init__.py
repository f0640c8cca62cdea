"""Shared building blocks with no models: errors, state machine, money."""
