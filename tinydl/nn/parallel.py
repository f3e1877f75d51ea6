"""``nn.DataParallel`` as torch runs it on a machine without GPUs: a wrapper that calls its
module (``device_ids`` and ``output_device`` are ignored, as torch ignores them there).

torch's DataParallel splits each batch over the GPUs of one process, copies the replica to each
every step, and gathers the outputs on one device (the imbalance the notes describe). tinydl
runs on the CPU, where torch's wrapper is this pass-through too, so code written for it runs
unchanged; the state_dict keys gain the ``module.`` prefix, as torch's. For several processes
or machines, use ``tinydl.distributed.DistributedDataParallel``.
"""
from tinydl.nn.module import Module


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``: forward calls
    ``module`` with the same arguments (one device: the CPU)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module must be a tinydl.nn.Module, got "
                            f"{type(module).__name__}")
        self.module = module
        self.device_ids = []  # torch's value on a machine without GPUs
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
