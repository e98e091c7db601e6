"""Stage 2: the ledger's entries, the lineage they form, the plan and admission (all pure)."""
