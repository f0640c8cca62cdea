"""Custom fields: administrator-defined, typed fields on any business model."""
