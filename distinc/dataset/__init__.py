"""Stage 1: partitions of a Parquet dataset, their fingerprints, profiles and readers."""
