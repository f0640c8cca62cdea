"""The kernel every business app builds on: identity, access, navigation, list/detail/form kit."""
