"""tinydl.data: datasets, batching, the bundled digits, IDX (MNIST) files, toy 2-D sets and
image transforms (``tinydl.data.transforms``, torchvision's names)."""

from tinydl.data import transforms
from tinydl.data.dataset import DataLoader, Dataset, TensorDataset, default_collate, mean_std
from tinydl.data.dataset import (ChainDataset, ConcatDataset, IterableDataset, StackDataset,
                                 Subset, get_worker_info, random_split)
from tinydl.data.digits import load_digits
from tinydl.data.idx import read_idx, write_idx
from tinydl.data.sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                                 SubsetRandomSampler, WeightedRandomSampler)
from tinydl.data.synthetic import make_circles, make_gaussian_mixture, make_moons, make_spirals

__all__ = [
    "Dataset", "TensorDataset", "DataLoader", "default_collate", "mean_std", "load_digits",
    "read_idx", "write_idx", "make_moons", "make_circles", "make_spirals",
    "make_gaussian_mixture", "transforms",
]
__all__ += [
    "Subset", "random_split", "ConcatDataset", "StackDataset", "IterableDataset", "ChainDataset",
    "get_worker_info", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler",
]
