"""``torch.utils``'s counterparts: ``tinydl.utils.checkpoint`` (activation checkpointing:
``checkpoint``, ``checkpoint_sequential``)."""
from tinydl.utils import checkpoint

__all__ = ["checkpoint"]
