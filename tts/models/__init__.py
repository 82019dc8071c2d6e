"""Models: acoustic models and vocoders. ``forward`` is the training path, ``infer`` inference."""
