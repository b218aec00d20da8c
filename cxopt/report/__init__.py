"""Reports derived from results (never recomputing the model): terminal tables, JSON, Markdown, HTML."""
