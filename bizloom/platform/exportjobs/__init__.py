"""Exports too large to build in a request: the job record, its status page and its download (issue #5)."""
