"""Stage 5: the report — quality, cost and drift per version, as an HTML page with PNG plots."""
