"""Opportunities, pipelines and stages, loss reasons, competitors, the kanban board."""
