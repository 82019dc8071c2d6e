"""ONNX export and runtime of a voice's acoustic model and vocoder.

- ``tts.onnx.export.export_onnx`` (``voxclone export --onnx``): the graphs, checked against
  PyTorch, into an export folder (torch needed);
- ``tts.onnx.runtime.OnnxEngine`` (``tts.voices.voice_engine(name, runtime="onnx")``): speaks
  from that folder with onnxruntime, without importing torch;
- ``tts.onnx.manifest``: where exports live and whether one is current; ``tts.onnx.graphs``:
  the exported torch modules; ``tts.onnx.noise``: the vocoder's seeded noise without torch.

See docs/onnx.md. Importing this package imports nothing else.
"""
