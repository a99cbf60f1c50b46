"""Reading and writing other formats: weights from PyTorch (state dicts in .safetensors,
or .pt/.pth when torch is installed)."""

from hubel.io.foreign import load_torch_weights, read_state_dict

__all__ = ["load_torch_weights", "read_state_dict"]
