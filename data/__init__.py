"""Training data: manifests, corpus recipes, preparation, datasets and the Lightning data module.

* ``data.manifest``     - ``Utterance`` and JSONL manifests
* ``data.recipes``      - ``RECIPES``: corpus layouts -> utterances
* ``data.prepare``      - ``prepare()``: corpus -> prepared folder (wavs, cached mels, splits)
* ``data.prepared``     - ``PreparedFolder``: how everything reads a prepared folder (no torch)
* ``data.pitch``        - ``pitch_prepared()``: a prepared folder's frame F0 (``pitch.npz``)
* ``data.holdout``      - which speakers are held out of training (no torch)
* ``data.batch``        - ``TTSBatch``, ``VocoderBatch``: what the loaders yield
* ``data.dataset``      - ``TTSDataset``, ``collate_batch``, ``LengthBucketSampler``
* ``data.vocoder_data`` - ``VocoderDataset``, ``collate_segments``
* ``data.datamodule``   - ``TTSDataModule``, ``VocoderDataModule`` (the only module here that
  imports Lightning)
"""
