"""Running a generation: the worker thread, its typed events, progress and the live preview."""
