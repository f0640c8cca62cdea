"""Record timeline: comments with @mentions, attachments, and entries from other mechanisms."""
