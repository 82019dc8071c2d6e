"""Training data: manifests, corpus recipes, preparation, datasets and the Lightning data module.

* ``data.manifest``   - ``Utterance`` and JSONL manifests
* ``data.recipes``    - ``RECIPES``: corpus layouts -> utterances
* ``data.prepare``    - ``prepare()``: corpus -> prepared folder (wavs, cached mels, splits)
* ``data.dataset``    - ``TTSDataset``, ``collate_batch``, ``LengthBucketSampler``
* ``data.datamodule`` - ``TTSDataModule`` (the only module here that imports Lightning)
"""
