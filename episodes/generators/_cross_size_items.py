"""Placeholder: filled in by the cross-scale work (issue 6)."""
