"""The duplicate queue and the merge tool."""
