"""Organisation and access administration (issue #3): departments, teams, roles, sharing, "view as".

Modules of the ``platform`` app (not an app of their own): ``selectors`` read, ``services``
write, ``views``/``forms``/``urls`` are the /settings/org/ pages, ``middleware`` applies
"view as".
"""
