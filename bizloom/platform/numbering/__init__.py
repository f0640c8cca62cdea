"""Document numbering: configurable, unique and gap-free per period."""
