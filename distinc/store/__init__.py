"""Stage 4: the model store — spec, append-only ledger, verified artifacts."""
