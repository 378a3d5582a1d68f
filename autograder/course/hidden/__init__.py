"""Hidden checks (Gradescope `after_published`): other seeds, shapes and edge cases. This folder
never ships to students."""
