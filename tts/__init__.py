"""voxclone: multi-speaker text-to-speech with few-shot voice cloning."""

__version__ = "0.1.0"
