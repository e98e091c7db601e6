"""Stage 6: the use cases (init, update, rollback) that drive the stages to their left."""
