"""``MLP``: a stack of Linear layers with an activation between them."""
from tinydl.nn.activation import ACTIVATIONS
from tinydl.nn.dropout import Dropout
from tinydl.nn.linear import Linear
from tinydl.nn.module import Module, Sequential
from tinydl.nn.normalization import BatchNorm1d


def _activation(spec):
    if isinstance(spec, str):
        if spec not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {spec!r}; choose one of "
                             f"{sorted(ACTIVATIONS)}, a Module class or a callable returning a "
                             "Module")
        return ACTIVATIONS[spec]()
    made = spec()
    if not isinstance(made, Module):
        raise TypeError(f"MLP: activation factory returned {type(made).__name__}, not a Module")
    return made


class MLP(Sequential):
    """``MLP([784, 256, 128, 10])``: Linear(784, 256), act, Linear(256, 128), act, Linear(128, 10).

    ``activation``: a name ('relu', 'tanh', 'gelu', ...), a Module class or a factory.
    Per hidden layer the order is Linear, [BatchNorm1d], activation, [Dropout(dropout)];
    ``output_activation`` (same kinds, default none) follows the last Linear. Children are
    numbered as in ``Sequential``.
    """

    def __init__(self, sizes, activation="relu", output_activation=None, dropout=0.0,
                 batch_norm=False, bias=True):
        sizes = list(sizes)
        if len(sizes) < 2 or any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"MLP: sizes must hold at least two positive ints, got {sizes}")
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, bias=bias))
            if i < len(sizes) - 2:
                if batch_norm:
                    layers.append(BatchNorm1d(n_out))
                layers.append(_activation(activation))
                if dropout > 0:
                    layers.append(Dropout(dropout))
        if output_activation is not None:
            layers.append(_activation(output_activation))
        super().__init__(*layers)
        self.sizes = tuple(sizes)
