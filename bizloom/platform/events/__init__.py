"""Domain events: typed events, registered handlers, and the outbox the worker delivers."""
