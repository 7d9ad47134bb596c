"""Session recording: every sample, decision, grade change and health event of a show,
kept crash-safe on disk (`store.py`), listed, exported and purged (`cli.py`)."""
