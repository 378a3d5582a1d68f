"""Hidden checks (Gradescope `after_published`): other seeds, shapes and edge cases.
Never shipped to students."""
