"""One renderer per output format: Gradescope results.json, the terminal table, Markdown."""
