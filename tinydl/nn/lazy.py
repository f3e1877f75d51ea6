"""Lazy modules: layers whose input size (``in_features``, ``in_channels``, ``num_features``)
is read from the first input they see, as torch's ``nn.LazyLinear``, ``LazyConv*d``,
``LazyConvTranspose*d``, ``LazyBatchNorm*d`` and ``LazyInstanceNorm*d``.

Until then the layer holds ``UninitializedParameter`` (and ``UninitializedBuffer``)
placeholders: they know their dtype, and any other use (an op, ``.data``, ``.shape``) raises.
The first call fills them in place, draws the eager layer's initialisation and turns the
module into its eager class (``type(m)`` is ``Linear`` afterwards, as in torch). In place
means each Parameter object stays the same, so an optimizer built on the lazy module's
parameters trains them once they exist, as torch's does. ``LazyModuleMixin`` holds all of
this; each lazy class only says how the input's shape gives the missing size.

Before the first call, ``load_state_dict`` sizes the placeholders from the checkpoint (the
first call then keeps those values and checks the input against them), and ``.double()`` /
``.to(dtype)`` change the dtype they will be created in, as torch's lazy modules do.
"""
import itertools

import numpy as np

from tinydl.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from tinydl.nn.conv3d import Conv3d, ConvTranspose3d
from tinydl.nn.linear import Linear
from tinydl.nn.module import Parameter
from tinydl.ops._util import ShapeError
from tinydl.nn.normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d,
                                     InstanceNorm2d, InstanceNorm3d)
from tinydl.tensor import Tensor

_ARRAY = Tensor.__dict__["_data"]  # the slot behind ``Tensor.data``, reached past the guards


class UninitializedUseError(ValueError, RuntimeError):
    """A placeholder was used: torch raises ValueError for an op on it, RuntimeError for its
    shape; ops here may ask for either first, so this is both."""


class UninitializedTensorMixin:
    """A placeholder Tensor of a known dtype and no values yet; ``materialize(shape)`` turns it
    into its ``cls_to_become`` (Parameter or Tensor) in place, with uninitialised values."""

    __slots__ = ()
    cls_to_become = None

    def __new__(cls, requires_grad=False, dtype=np.float32):
        # Built as the real class (so every slot is set as Tensor sets it), then relabelled;
        # the zero-size array only carries the dtype and is never read through the guards.
        placeholder = cls.cls_to_become(np.empty(0, np.dtype(dtype)))
        placeholder.requires_grad = requires_grad
        placeholder.__class__ = cls
        return placeholder

    def __init__(self, requires_grad=False, dtype=np.float32):
        pass  # all done in __new__

    def retype(self, dtype):
        """Hold ``dtype`` from now on (``module.double()`` before the first forward)."""
        _ARRAY.__set__(self, np.empty(0, np.dtype(dtype)))

    def materialize(self, shape, dtype=None):
        """Become a ``cls_to_become`` of ``shape`` (and ``dtype``, by default the placeholder's)
        holding uninitialised values, in place."""
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        self.__class__ = self.cls_to_become
        self.data = np.empty(tuple(shape), dtype)

    def _unusable(self, *args):
        raise UninitializedUseError(
            f"Attempted to use an uninitialized parameter or buffer ({type(self).__name__}): "
            "it belongs to a lazy module whose sizes are only known after its first forward; "
            "call the module on a batch first")

    @property
    def _data(self):
        self._unusable()

    data = property(_unusable, _unusable)

    @property
    def shape(self):
        raise UninitializedUseError(
            f"Can't access the shape of an uninitialized parameter or buffer "
            f"({type(self).__name__}): call the lazy module's forward first")

    ndim = shape

    @property
    def dtype(self):
        return _ARRAY.__get__(self).dtype

    def detach(self):
        return self  # what state_dict() shows for it, as torch

    def __reduce_ex__(self, protocol):
        # copies and pickles (deepcopy of a lazy model) make a new placeholder of the dtype
        return type(self), (self.requires_grad, self.dtype)

    def __deepcopy__(self, memo):  # (before Parameter's, which copies the values)
        copied = memo[id(self)] = type(self)(self.requires_grad, self.dtype)
        return copied

    def __repr__(self):
        return f"<{type(self).__name__}>"


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter of a lazy module whose shape is not known yet (torch's name)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, dtype=np.float32):
        return super().__new__(cls, requires_grad, dtype)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer (running statistics) of a lazy module whose shape is not known yet."""

    __slots__ = ()
    cls_to_become = Tensor


def _infer_parameters(module, args):
    """The forward pre-hook of a lazy module: size it from its input, then become eager."""
    if not args:
        raise TypeError(f"{type(module).__name__}: a lazy module needs its input to infer its "
                        "sizes")
    x = args[0]
    shapes = module._infer_shapes(x.shape if hasattr(x, "shape") else np.shape(x))
    members = module._lazy_members()
    loaded = {}  # members a load_state_dict already sized and filled: kept as loaded
    for name, value in members:
        if not isinstance(value, UninitializedTensorMixin):
            if value.shape != tuple(shapes[name]):
                raise ShapeError(f"{type(module).__name__}: the loaded {name} has shape "
                                 f"{value.shape}, but this input needs {tuple(shapes[name])}")
            loaded[name] = value.data.copy()
    for name, value in members:
        if isinstance(value, UninitializedTensorMixin):
            value.materialize(shapes[name])
    if len(loaded) < len(members):
        module.reset_parameters()  # the initialisation of the eager layer...
        for name, value in members:
            if name in loaded:  # ...except for what was loaded
                value.data[...] = loaded[name]
    module._initialize_hook.remove()
    del module._initialize_hook
    module.__class__ = module.cls_to_become


class LazyModuleMixin:
    """What every lazy layer shares: placeholders for its parameters (and the buffers named in
    ``lazy_buffers``), a forward pre-hook that sizes them from the first input, and the switch
    to ``cls_to_become``. A subclass lists the lazy mixin first, then the eager class, calls
    ``_make_lazy()`` at the end of ``__init__`` and defines ``_infer_shapes(input_shape)``:
    set the inferred size attribute and return every member's shape by name (raising, and
    staying lazy, on an input it cannot take)."""

    cls_to_become = None
    lazy_buffers = ()

    def _lazy_members(self):
        buffers = ((n, self._buffers[n]) for n in self.lazy_buffers)
        return [(n, v) for n, v in itertools.chain(self._parameters.items(), buffers)
                if v is not None]

    def _make_lazy(self):
        """Replace the parameters and ``lazy_buffers`` by placeholders of their dtype."""
        for name, value in self._lazy_members():
            if isinstance(value, Parameter):
                placeholder = UninitializedParameter(value.requires_grad, value.dtype)
            else:
                placeholder = UninitializedBuffer(False, value.dtype)
            setattr(self, name, placeholder)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self):
        """Whether a parameter or buffer is still a placeholder (torch's name)."""
        return any(isinstance(v, UninitializedTensorMixin) for _, v in self._lazy_members())

    def initialize_parameters(self, input):
        """Size and initialise the layer from ``input`` now, without running it."""
        _infer_parameters(self, (input,))


# ----------------------------------------------------------------------------- linear
class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last axis of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, out_features, bias, device, dtype)
        self._make_lazy()

    def _infer_shapes(self, shape):
        if len(shape) < 1:
            raise ShapeError(f"LazyLinear: expected an input of at least 1 axis, got shape "
                             f"{tuple(shape)}")
        self.in_features = int(shape[-1])
        return {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}


# ----------------------------------------------------------------------------- convolution
class _LazyConv(LazyModuleMixin):
    """The convolutions' shapes: ``in_channels`` from the input's channel axis (axis 1, or 0
    unbatched), which must be divisible by ``groups`` (until it is, the layer stays lazy)."""

    def _lazy_conv(self):
        self.in_channels = 0  # built with in_channels=groups, the smallest the checks take
        self._make_lazy()

    def _infer_shapes(self, shape):
        n = len(self.kernel_size)
        if len(shape) not in (n + 1, n + 2):
            raise ShapeError(f"{type(self).__name__}: expected a {n + 1}-D (unbatched) or "
                             f"{n + 2}-D (batched) input, got shape {tuple(shape)}")
        in_channels = int(shape[1] if len(shape) == n + 2 else shape[0])
        if in_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({in_channels}) must be "
                             f"divisible by groups ({self.groups})")
        self.in_channels = in_channels
        out = self.out_channels
        if self.transposed:
            weight = (in_channels, out // self.groups) + self.kernel_size
        else:
            weight = (out, in_channels // self.groups) + self.kernel_size
        return {"weight": weight, "bias": (out,)}


class LazyConv1d(_LazyConv, Conv1d):
    """``Conv1d`` whose ``in_channels`` comes from its first input."""

    cls_to_become = Conv1d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)
        self._lazy_conv()


class LazyConv2d(_LazyConv, Conv2d):
    """``Conv2d`` whose ``in_channels`` comes from its first input."""

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)
        self._lazy_conv()


class LazyConv3d(_LazyConv, Conv3d):
    """``Conv3d`` whose ``in_channels`` comes from its first input."""

    cls_to_become = Conv3d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)
        self._lazy_conv()


class LazyConvTranspose1d(_LazyConv, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` comes from its first input."""

    cls_to_become = ConvTranspose1d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(groups, out_channels, kernel_size, stride, padding, output_padding,
                         groups, bias, dilation, padding_mode, device, dtype)
        self._lazy_conv()


class LazyConvTranspose2d(_LazyConv, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` comes from its first input."""

    cls_to_become = ConvTranspose2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(groups, out_channels, kernel_size, stride, padding, output_padding,
                         groups, bias, dilation, padding_mode, device, dtype)
        self._lazy_conv()


class LazyConvTranspose3d(_LazyConv, ConvTranspose3d):
    """``ConvTranspose3d`` whose ``in_channels`` comes from its first input."""

    cls_to_become = ConvTranspose3d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(groups, out_channels, kernel_size, stride, padding, output_padding,
                         groups, bias, dilation, padding_mode, device, dtype)
        self._lazy_conv()


# ----------------------------------------------------------------------------- normalisation
class _LazyNorm(LazyModuleMixin):
    """The normalisations' shapes: ``num_features`` from the channel axis, every member
    (weight, bias, running mean and variance) of shape (num_features,)."""

    lazy_buffers = ("running_mean", "running_var")
    unbatched = False  # whether one sample without a batch axis is taken (InstanceNorm)

    def __init__(self, eps, momentum, affine, track_running_stats, device, dtype, bias):
        super().__init__(0, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        self._make_lazy()

    def _infer_shapes(self, shape):
        ndims = self.expected_ndim
        if len(shape) not in ndims and not (self.unbatched and len(shape) == ndims[0] - 1):
            raise ShapeError(f"{type(self).__name__}: expected input of shape {self.layout}, "
                             f"got {tuple(shape)}")
        self.num_features = int(shape[1] if len(shape) in ndims else shape[0])
        return {name: (self.num_features,) for name, _ in self._lazy_members()}


def _lazy_norm(eager, unbatched):
    """The lazy class of the normalisation ``eager``. Its defaults are torch's lazy ones:
    ``affine`` and ``track_running_stats`` True, for InstanceNorm too (whose eager defaults
    are False)."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        _LazyNorm.__init__(self, eps, momentum, affine, track_running_stats, device, dtype,
                           bias)

    return type("Lazy" + eager.__name__, (_LazyNorm, eager), {
        "__init__": __init__, "cls_to_become": eager, "unbatched": unbatched,
        "__module__": __name__,
        "__doc__": f"``{eager.__name__}`` whose ``num_features`` comes from its first input."})


LazyBatchNorm1d = _lazy_norm(BatchNorm1d, unbatched=False)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, unbatched=False)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, unbatched=False)
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d, unbatched=True)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d, unbatched=True)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d, unbatched=True)
