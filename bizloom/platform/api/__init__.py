"""Shared building blocks of the REST API: errors, auth, pagination, ordering, filters, schemas.

Every app's ``api.py`` builds on these, so all resources answer the same way:
``application/problem+json`` errors, ``{count, page, page_size, results}`` pages,
allow-listed ``?ordering`` and declared filters.
"""
