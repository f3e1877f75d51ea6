"""``skip_init``: build a module without drawing its initial parameters from the random stream
(``torch.nn.utils.skip_init``)."""
import inspect

from tinydl.nn.module import Module
from tinydl.random import get_generator

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` whose parameter and buffer values are unspecified, to
    be overwritten by the caller (``load_state_dict``, a custom init).

    torch builds the module on its 'meta' device and allocates empty memory; tinydl has no
    such device, so the constructor runs as usual and the seeded generator's state is put
    back afterwards: as in torch, skipping the initialisation consumes no random numbers.
    """
    if not (inspect.isclass(module_cls) and issubclass(module_cls, Module)):
        raise RuntimeError(f"skip_init: expected a Module class, got {module_cls!r}")
    bit_generator = get_generator().bit_generator
    state = bit_generator.state
    try:
        return module_cls(*args, **kwargs)
    finally:
        bit_generator.state = state
