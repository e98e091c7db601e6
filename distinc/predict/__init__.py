"""Stage 5: batch prediction and holdout evaluation of stored versions."""
