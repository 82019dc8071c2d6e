"""Voice cloning: the speaker encoder and what builds on it.

- ``cloning.encoder``: ``SpeakerEncoder`` (GE2E), ``embed_utterance`` / ``embed_many`` /
  ``embed_file`` -> unit embeddings, ``load_default()`` (the shipped encoder), ``load_encoder``.
- ``cloning.ge2e``: the GE2E loss; ``cloning.verification``: EER and the held-out speaker rule.
- ``cloning.encoder_data``: speaker-batched (N x M) data for training the encoder.
- ``cloning.pretrained``: Resemblyzer's published weights mapped into ``SpeakerEncoder``.
"""
