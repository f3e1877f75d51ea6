"""Recurrent layers, as in ``torch.nn``: the cells ``RNNCell``, ``LSTMCell``, ``GRUCell`` (one
time step) and the multi-layer, optionally bidirectional ``RNN``, ``LSTM``, ``GRU`` (a whole
sequence).

Parameter names and shapes, the gate order (LSTM: i, f, g, o; GRU: r, z, n) and the
initialisation U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) are torch's, so a torch
``state_dict`` (as arrays) loads unchanged. Everything is composed of core ops (``linear``,
``sigmoid``, ``tanh``, slicing, ``stack``), so gradients of every order come for free. A layer
computes its input projection ``x W_ih^T + b_ih`` for all time steps in one matmul and then
loops over the time steps for the recurrence. Each update rule is written once, in a
``_*Rule`` class that the cell and the layer of that kind share.

The layers take padded sequences (one (L, N, H_in) tensor, every sequence L steps long) or a
``PackedSequence`` (``tinydl.nn.utils.rnn``) of sequences of different lengths: each then runs
for its own length only, the reverse direction starting at its own last step, and h_n holds
each sequence's state at its own last step.
"""
import math
import numbers
import warnings

import numpy as np

from tinydl.nn import functional as F
from tinydl.nn import init
from tinydl.nn.module import (Module, Parameter, _check_size, _layer_input,
                              _parameter_dtype)
from tinydl.nn.utils.rnn import PackedSequence, _batch_sizes
from tinydl.ops import concatenate, expand_dims, relu, sigmoid, split, stack, tanh
from tinydl.ops._util import ShapeError
from tinydl.tensor import Tensor, _check_device

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]

_NONLINEARITIES = {"tanh": tanh, "relu": relu}


# ----------------------------------------------------------------------------- update rules
class _RNNRule:
    """Elman's rule: ``h' = act(xw + h W_hh^T + b_hh)`` with ``xw = x W_ih^T + b_ih``."""

    _gates = 1
    _state_names = ("h_0",)

    def _step(self, xw, state, w_hh, b_hh, w_hr):
        (h,) = state
        return (_NONLINEARITIES[self.nonlinearity](xw + F.linear(h, w_hh, b_hh)),)


class _LSTMRule:
    """Hochreiter & Schmidhuber's rule, with an optional projection (Sak et al. 2014).

    ``i, f, g, o`` = the four quarters of ``xw + h W_hh^T + b_hh``;
    ``c' = sigmoid(f) * c + sigmoid(i) * tanh(g)``, ``h' = sigmoid(o) * tanh(c')``, then
    ``h' = h' W_hr^T`` when there is a projection.
    """

    _gates = 4
    _state_names = ("h_0", "c_0")

    def _step(self, xw, state, w_hh, b_hh, w_hr):
        h, c = state
        i, f, g, o = split(xw + F.linear(h, w_hh, b_hh), 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h = sigmoid(o) * tanh(c)
        return (h if w_hr is None else F.linear(h, w_hr)), c


class _GRURule:
    """Cho et al.'s rule, torch's variant (the reset gate scales ``h W_hn^T + b_hn``).

    With ``xw`` = (x_r, x_z, x_n) and ``h W_hh^T + b_hh`` = (h_r, h_z, h_n) in thirds:
    ``r = sigmoid(x_r + h_r)``, ``z = sigmoid(x_z + h_z)``, ``n = tanh(x_n + r * h_n)``,
    ``h' = (1 - z) * n + z * h``, computed as ``n + z * (h - n)``.
    """

    _gates = 3
    _state_names = ("h_0",)

    def _step(self, xw, state, w_hh, b_hh, w_hr):
        (h,) = state
        size = h.shape[-1]
        hw = F.linear(h, w_hh, b_hh)
        # r and z in one sigmoid: they are the first two thirds of both projections
        rz = sigmoid(xw[..., :2 * size] + hw[..., :2 * size])
        r, z = rz[..., :size], rz[..., size:]
        n = tanh(xw[..., 2 * size:] + r * hw[..., 2 * size:])
        return (n + z * (h - n),)


# ----------------------------------------------------------------------------- shared helpers
def _param_dtype(dtype, device, caller):
    """The parameters' dtype: float32 for None (torch's default dtype), else a float dtype."""
    if device is not None:
        _check_device(device, caller)
    dtype = np.dtype(_parameter_dtype(dtype))
    if dtype.kind != "f":
        raise TypeError(f"{caller}: parameters must have a floating dtype, got {dtype}")
    return dtype


def _check_nonlinearity(nonlinearity, caller):
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"{caller}: unknown nonlinearity {nonlinearity!r}; select 'tanh' or "
                         "'relu'")
    return nonlinearity


def _reset_uniform(module):
    """torch's init for every recurrent parameter: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)),
    drawn in registration order from tinydl's seeded generator."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
    for param in module.parameters():
        init.uniform_(param, -bound, bound)


def _input(module, input, param, accepted="a Tensor or an array"):
    """The input as a Tensor of the parameters' dtype; anything but ``accepted`` (a Tensor or
    an array; the layers' forward takes a PackedSequence before calling this) is refused."""
    if not isinstance(input, (Tensor, np.ndarray)):
        kind = type(input)
        what = (kind.__name__ if kind.__module__ == "builtins"  # torch's PackedSequence is
                else f"{kind.__module__}.{kind.__name__}")  # named so, not to pass for ours
        raise TypeError(f"{type(module).__name__}: input must be {accepted}, got {what}")
    return _layer_input(module, input, param)


def _initial_state(module, hx, shapes, labels, batch_axis, batched, dtype):
    """The recurrent state as a tuple of batched Tensors of ``shapes``: zeros for ``hx=None``,
    else ``hx`` (a Tensor; for an LSTM a pair (h_0, c_0)), checked and, when unbatched (its
    shapes lack ``batch_axis``), given that axis back. ``labels`` name each shape's axes."""
    name = type(module).__name__
    names = module._state_names
    shapes = shapes[:len(names)]  # an LSTM's (h, c); the other kinds' h
    if hx is None:
        return tuple(Tensor._wrap(np.zeros(shape, dtype=dtype)) for shape in shapes)
    if len(names) == 1:
        if not isinstance(hx, (Tensor, np.ndarray)):
            raise TypeError(f"{name}: hx must be a Tensor (h_0), got {type(hx).__name__}")
        hx = (hx,)
    elif not (isinstance(hx, (tuple, list)) and len(hx) == 2):
        raise TypeError(f"{name}: hx must be a pair (h_0, c_0) of Tensors, got "
                        f"{type(hx).__name__}" + (f" of length {len(hx)}"
                                                   if isinstance(hx, (tuple, list)) else ""))
    states = []
    for value, what, shape, label in zip(hx, names, shapes, labels):
        if not isinstance(value, (Tensor, np.ndarray)):
            raise TypeError(f"{name}: {what} must be a Tensor or an array, got "
                            f"{type(value).__name__}")
        value = value if isinstance(value, Tensor) else Tensor._wrap(value)
        if not batched:
            shape = shape[:batch_axis] + shape[batch_axis + 1:]
            label = label[:batch_axis] + label[batch_axis + 1:]
        if value.shape != shape:
            kind = "batched" if batched else "unbatched"
            raise ShapeError(f"{name}: expected {what} of shape {shape} ({', '.join(label)}) "
                             f"for {kind} input, got {value.shape}")
        if value.dtype != dtype:
            raise TypeError(f"{name}: {what} of dtype {value.dtype} does not match the "
                            f"parameters' dtype {dtype}")
        states.append(value if batched else expand_dims(value, batch_axis))
    return tuple(states)


def _time_steps(x):
    """The slices x[0], ..., x[L-1] of a (L, ...) Tensor, cut by halving.

    A slice's gradient is written into zeros of its parent's shape, so L slices cut straight
    from x cost O(L^2) in backward; halving recursively costs O(L log L) (measured on 100
    steps, batch 32, hidden 128: the slices' backward 3.5x faster, an LSTM's whole forward
    and backward 1.6x).
    """
    if x.shape[0] == 1:
        return [x[0]]
    half = x.shape[0] // 2
    return _time_steps(x[:half]) + _time_steps(x[half:])


def _packed_steps(x, sizes):
    """The blocks of sizes[0], sizes[1], ... rows of packed rows x (one block per time
    step), cut by halving for the reason ``_time_steps`` gives."""
    if len(sizes) == 1:
        return [x]
    half = len(sizes) // 2
    top = int(sum(sizes[:half]))
    return _packed_steps(x[:top], sizes[:half]) + _packed_steps(x[top:], sizes[half:])


def _packed_recurrence(step, xws, state, sizes, reverse, weights):
    """One direction of one layer over packed sequences, sorted by decreasing length.

    ``xws[t]`` (sizes[t], gates) is step t's input projection for the sequences still running
    at t, which are the first sizes[t]; ``state`` holds every sequence's initial state
    (batch, *). Forward, a sequence's state leaves the batch after its last step and is its
    final state. In reverse, a sequence joins the batch at its own last step, from its initial
    state, and all end at t = 0. Returns (the h of every step, the final state).
    """
    hs = []
    if reverse:
        initial, running = state, sizes[-1]
        state = tuple(s[:running] for s in initial) if running < len(initial[0]) else initial
        for xw, size in zip(reversed(xws), reversed(sizes)):
            if size > running:  # sequences running..size-1 end at this step: they start here
                state = tuple(concatenate([s, s0[running:size]])
                              for s, s0 in zip(state, initial))
                running = size
            state = step(xw, state, *weights)
            hs.append(state[0])
        return hs[::-1], state
    finished = []  # the final states of the sequences that ended, latest (shortest) last
    for xw, size in zip(xws, sizes):
        if size < len(state[0]):
            finished.append(tuple(s[size:] for s in state))
            state = tuple(s[:size] for s in state)
        state = step(xw, state, *weights)
        hs.append(state[0])
    if finished:
        state = tuple(concatenate([s, *ended[::-1]]) for s, *ended in zip(state, *finished))
    return hs, state


# ----------------------------------------------------------------------------- cells
class _CellBase(Module):
    """What the three cells share: parameters, init, input and state checks, ``forward``."""

    def __init__(self, input_size, hidden_size, bias, device, dtype):
        super().__init__()
        name = type(self).__name__
        dtype = _param_dtype(dtype, device, name)
        self.input_size = _check_size(input_size, name, "input_size", 0)
        self.hidden_size = _check_size(hidden_size, name, "hidden_size", 0)
        self.bias = bool(bias)
        gates = self._gates * hidden_size
        self.weight_ih = Parameter(np.empty((gates, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((gates, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(gates, dtype=dtype))
            self.bias_hh = Parameter(np.empty(gates, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _reset_uniform(self)

    def forward(self, input, hx=None):
        """One step: input (N, input_size) or unbatched (input_size,); hx (None: zeros) and
        the result shaped (N, hidden_size) or (hidden_size,)."""
        name = type(self).__name__
        x = _input(self, input, self.weight_ih)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: expected input of shape (N, {self.input_size}) or "
                             f"unbatched ({self.input_size},), got {x.shape}")
        batched = x.ndim == 2
        if not batched:
            x = expand_dims(x, 0)
        shape = (x.shape[0], self.hidden_size)
        state = _initial_state(self, hx, [shape] * len(self._state_names),
                               [("batch", "hidden_size")] * 2, 0, batched, self.weight_ih.dtype)
        state = self._step(F.linear(x, self.weight_ih, self.bias_ih), state, self.weight_hh,
                           self.bias_hh, None)
        if not batched:
            state = tuple(s[0] for s in state)
        return state if len(state) > 1 else state[0]

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(_RNNRule, _CellBase):
    """One step of an Elman RNN: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, act = tanh
    (default) or relu.

    weight_ih (hidden_size, input_size), weight_hh (hidden_size, hidden_size), bias_ih and
    bias_hh (hidden_size,). ``forward(input, hx=None)``: input (N, input_size) or unbatched
    (input_size,), hx shaped like the result, (N, hidden_size) or (hidden_size,).
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        _check_nonlinearity(nonlinearity, "RNNCell")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(_LSTMRule, _CellBase):
    """One step of an LSTM: with ``i, f, g, o`` the quarters of
    ``x W_ih^T + b_ih + h W_hh^T + b_hh`` (torch's gate order),
    ``c' = sigmoid(f) * c + sigmoid(i) * tanh(g)`` and ``h' = sigmoid(o) * tanh(c')``.

    weight_ih (4 hidden_size, input_size), weight_hh (4 hidden_size, hidden_size), biases
    (4 hidden_size,). ``forward(input, hx=None)``: hx = (h_0, c_0), each (N, hidden_size) or
    unbatched (hidden_size,), zeros if None; returns ``(h', c')``.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device, dtype)


class GRUCell(_GRURule, _CellBase):
    """One step of a GRU: with (x_r, x_z, x_n) the thirds of ``x W_ih^T + b_ih`` and
    (h_r, h_z, h_n) those of ``h W_hh^T + b_hh`` (torch's gate order r, z, n),
    ``r = sigmoid(x_r + h_r)``, ``z = sigmoid(x_z + h_z)``, ``n = tanh(x_n + r * h_n)``,
    ``h' = (1 - z) * n + z * h``.

    weight_ih (3 hidden_size, input_size), weight_hh (3 hidden_size, hidden_size), biases
    (3 hidden_size,). ``forward(input, hx=None)`` as ``RNNCell``'s.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device, dtype)


# ----------------------------------------------------------------------------- layers
class _LayerBase(Module):
    """What the three multi-layer recurrent layers share (torch's ``RNNBase``).

    Layer k >= 1 reads the output of layer k - 1 (both directions concatenated), through
    dropout in training. Parameters per layer k and direction (suffix '' or '_reverse'):
    ``weight_ih_l{k}`` (gates * hidden_size, layer input size), ``weight_hh_l{k}``
    (gates * hidden_size, H_out), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (gates * hidden_size,),
    and for an LSTM with a projection ``weight_hr_l{k}`` (proj_size, hidden_size); H_out is
    proj_size if set, else hidden_size.
    """

    def __init__(self, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                 bidirectional, proj_size, device, dtype):
        super().__init__()
        name = type(self).__name__
        dtype = _param_dtype(dtype, device, name)
        self.input_size = _check_size(input_size, name, "input_size", 1)
        self.hidden_size = _check_size(hidden_size, name, "hidden_size", 1)
        self.num_layers = _check_size(num_layers, name, "num_layers", 1)
        if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Real)
                or not 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout should be a number in [0, 1] (the probability "
                             f"of zeroing an element), got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout is applied after every recurrent layer but the "
                          f"last, so dropout={dropout} with num_layers=1 has no effect",
                          stacklevel=3)
        self.proj_size = _check_size(proj_size, name, "proj_size", 0)
        if proj_size and self._gates != 4:
            raise ValueError(f"{name}: proj_size is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than "
                             f"hidden_size ({hidden_size})")
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        gates, out_size = self._gates * hidden_size, proj_size or hidden_size
        self._weight_names = []  # per layer and direction: w_ih, w_hh, b_ih, b_hh, w_hr or None
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else out_size * self._directions
            for suffix in ("", "_reverse")[:self._directions]:
                shapes = {"weight_ih": (gates, in_size), "weight_hh": (gates, out_size),
                          "bias_ih": (gates,) if bias else None,
                          "bias_hh": (gates,) if bias else None,
                          "weight_hr": (proj_size, hidden_size) if proj_size else None}
                names = []
                for kind, shape in shapes.items():
                    names.append(None if shape is None else f"{kind}_l{layer}{suffix}")
                    if shape is not None:
                        setattr(self, names[-1], Parameter(np.empty(shape, dtype=dtype)))
                self._weight_names.append(tuple(names))
        self.reset_parameters()

    @property
    def _directions(self):
        return 2 if self.bidirectional else 1

    def reset_parameters(self):
        """Re-draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _reset_uniform(self)

    def flatten_parameters(self):
        """A no-op: torch packs the weights into one buffer for cuDNN; tinydl has no such
        buffer (kept because torch code calls it)."""

    @property
    def all_weights(self):
        """The parameters per layer and direction, as torch's: ``[[w_ih, w_hh, b_ih, b_hh,
        w_hr], ...]`` (those that exist)."""
        return [[getattr(self, n) for n in names if n is not None]
                for names in self._weight_names]

    def forward(self, input, hx=None):
        """(output, h_n), or for an LSTM (output, (h_n, c_n)).

        input (L, N, input_size), (N, L, input_size) with ``batch_first``, or unbatched
        (L, input_size). hx (None: zeros): h_0 (num_layers * num_directions, N, H_out), for an
        LSTM with c_0 (num_layers * num_directions, N, hidden_size), without N when
        unbatched. output (L, N, num_directions * H_out) (batch_first: (N, L, ...)) holds the
        last layer's h_t at every step, the forward direction's features first; h_n and c_n
        hold each layer's and direction's final state at index layer * num_directions +
        direction (the reverse direction's final state is the one at t = 0).

        input may also be a ``PackedSequence`` of data (sum of lengths, input_size); output is
        then the PackedSequence of the last layer's h_t (same batch_sizes and indices), h_0
        and h_n have N = the number of sequences in their original order, and each
        sequence's final state is the one at its own last step (reverse: at t = 0).
        """
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        name = type(self).__name__
        x = _input(self, input, self.weight_ih_l0, "a Tensor, an array or a PackedSequence")
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ShapeError(f"{name}: expected input of shape {layout} or unbatched "
                             f"(L, H_in) with H_in = input_size = {self.input_size}, got "
                             f"{x.shape}")
        batched = x.ndim == 3
        if not batched:
            x = expand_dims(x, 1)
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        steps, batch = x.shape[:2]
        if steps == 0:
            raise ShapeError(f"{name}: expected a sequence length larger than 0, got input of "
                             f"shape {tuple(input.shape)}")
        states = self._initial_states(hx, batch, batched)
        x, final = self._layers(x, states)
        if not batched:
            x, final = x[:, 0], tuple(s[:, 0] for s in final)
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        return x, (final if len(final) > 1 else final[0])

    def _forward_packed(self, packed, hx):
        """``forward`` on a PackedSequence: the layers run on the sorted sequences (hx is
        permuted by sorted_indices into that order, h_n back by unsorted_indices)."""
        name = type(self).__name__
        sizes = _batch_sizes(packed, name).tolist()
        x = _input(self, packed.data, self.weight_ih_l0)
        if x.ndim != 2 or x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: expected PackedSequence data of shape (sum of lengths, "
                             f"H_in) with H_in = input_size = {self.input_size}, got {x.shape}")
        states = self._initial_states(hx, sizes[0], True)
        if packed.sorted_indices is not None:
            states = tuple(s[:, packed.sorted_indices.data] for s in states)
        x, final = self._layers(x, states, sizes)
        if packed.unsorted_indices is not None:
            final = tuple(s[:, packed.unsorted_indices.data] for s in final)
        output = PackedSequence(x, packed.batch_sizes, packed.sorted_indices,
                                packed.unsorted_indices)
        return output, (final if len(final) > 1 else final[0])

    def _initial_states(self, hx, batch, batched):
        """h_0 (and c_0) for ``batch`` sequences: zeros for hx=None, else hx checked."""
        rows = self.num_layers * self._directions
        out_size = self.proj_size or self.hidden_size
        shapes = [(rows, batch, out_size), (rows, batch, self.hidden_size)]
        first = "num_layers * num_directions"
        labels = [(first, "batch", "proj_size" if self.proj_size else "hidden_size"),
                  (first, "batch", "hidden_size")]
        return _initial_state(self, hx, shapes, labels, 1, batched, self.weight_ih_l0.dtype)

    def _layers(self, x, states, sizes=None):
        """Every layer and direction over x: padded, time-major (L, N, H_in), when ``sizes``
        is None, else packed rows (sum(sizes), H_in) with sizes[t] sequences at step t.
        Returns the last layer's output (x's layout) and the final states stacked as h_n
        (an LSTM's (h_n, c_n))."""
        directions = self._directions
        finals = []  # the final state of each layer and direction, in h_n's order
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout)
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh, w_hr = (None if n is None else getattr(self, n)
                                                for n in self._weight_names[k])
                state = tuple(s[k] for s in states)
                xw = F.linear(x, w_ih, b_ih)  # one matmul for every step
                if sizes is None:
                    xws = _time_steps(xw)
                    hs = []
                    for xw in (reversed(xws) if direction else xws):
                        state = self._step(xw, state, w_hh, b_hh, w_hr)
                        hs.append(state[0])
                    outputs.append(stack(hs[::-1] if direction else hs))
                else:
                    hs, state = _packed_recurrence(self._step, _packed_steps(xw, sizes), state,
                                                   sizes, direction, (w_hh, b_hh, w_hr))
                    outputs.append(concatenate(hs))
                finals.append(state)
            x = outputs[0] if directions == 1 else concatenate(outputs, axis=-1)
        return x, tuple(stack(list(s)) for s in zip(*finals))

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        for key, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                             ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text


class RNN(_RNNRule, _LayerBase):
    """A multi-layer Elman RNN: at each step t of each layer,
    ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, act = tanh (default) or relu;
    x_t is the input for layer 0, else the previous layer's h_t (dropout between layers in
    training). Arguments, parameters, shapes and ``forward`` as torch's (see ``_LayerBase``
    and ``_LayerBase.forward``); ``forward(input, hx=None)`` -> (output, h_n).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
                 dtype=None):
        _check_nonlinearity(nonlinearity, "RNN")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)
        self.nonlinearity = nonlinearity

    @property
    def mode(self):
        """torch's name of the cell kind: 'RNN_TANH' or 'RNN_RELU'."""
        return f"RNN_{self.nonlinearity.upper()}"


class LSTM(_LSTMRule, _LayerBase):
    """A multi-layer LSTM: at each step t of each layer, with ``i, f, g, o`` the quarters of
    ``x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` (torch's gate order),
    ``c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)``, ``h_t = sigmoid(o) * tanh(c_t)``,
    and with ``proj_size > 0`` ``h_t = h_t W_hr^T`` (Sak et al. 2014: h_t has proj_size
    features). x_t is the input for layer 0, else the previous layer's h_t (dropout between
    layers in training). ``forward(input, hx=None)`` -> (output, (h_n, c_n)); hx = (h_0, c_0).
    """

    mode = "LSTM"  # torch's name of the cell kind

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)


class GRU(_GRURule, _LayerBase):
    """A multi-layer GRU: at each step t of each layer, with (x_r, x_z, x_n) the thirds of
    ``x_t W_ih^T + b_ih`` and (h_r, h_z, h_n) those of ``h_{t-1} W_hh^T + b_hh`` (torch's
    gate order), ``r = sigmoid(x_r + h_r)``, ``z = sigmoid(x_z + h_z)``,
    ``n = tanh(x_n + r * h_n)``, ``h_t = (1 - z) * n + z * h_{t-1}``. x_t is the input for
    layer 0, else the previous layer's h_t (dropout between layers in training).
    ``forward(input, hx=None)`` -> (output, h_n).
    """

    mode = "GRU"  # torch's name of the cell kind

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)
