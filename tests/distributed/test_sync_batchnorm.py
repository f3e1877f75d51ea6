"""SyncBatchNorm's constructor, in one process (its statistics over ranks: ddp_cases.py)."""
import numpy as np
import pytest

from tinydl.distributed import SyncBatchNorm


def test_sync_batchnorm_takes_torchs_signature():
    # the sixth argument is torch's process_group (BatchNorm's is device)
    layer = SyncBatchNorm(4, 1e-5, 0.1, True, True, None, "cpu", np.float64)
    assert layer.weight.dtype == np.float64 and layer.running_mean.dtype == np.float64
    with pytest.raises(ValueError, match="one process group"):
        SyncBatchNorm(4, process_group=object())
