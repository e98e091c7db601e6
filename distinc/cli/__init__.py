"""Stage 7: the ``distinc`` command line."""
