"""Tiny vocoder configs shared by the vocoder tests (a few thousand parameters, hop 64)."""

from tts.config import AudioConfig
from tts.models.hifigan import HiFiGANConfig

TINY_AUDIO = AudioConfig(sample_rate=16000, n_fft=256, win_length=256, hop_length=64, n_mels=80)
TINY = HiFiGANConfig(upsample_rates=(4, 4, 4), upsample_kernel_sizes=(8, 8, 8),
                     upsample_initial_channel=32, resblock_kernel_sizes=(3, 5),
                     resblock_dilation_sizes=((1, 3), (1, 3)))


def load_script(name: str):
    """Import ``scripts/NAME.py`` as a module (scripts are not a package), with its folder on
    ``sys.path`` as ``python scripts/NAME.py`` has it (scripts import ``_common`` and their parts
    from beside them)."""
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "scripts"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    path = folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"voxclone_{name}_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
