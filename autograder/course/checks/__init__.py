"""Visible checks, one module per part (CHECKS): they ship to students with the release."""
