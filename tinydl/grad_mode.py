"""The grad-mode switches: ``no_grad``, ``enable_grad``, ``inference_mode`` and
``set_grad_enabled``, each a context manager and a decorator, as in torch (the first three
also bare: ``@no_grad`` as ``@no_grad()``).

They flip the calling thread's flag that ``tinydl.autograd`` reads when an op runs
(``is_grad_enabled``); other threads keep theirs, as in torch.
"""
import functools
import inspect

from tinydl.autograd import _set_grad_mode


class _GradMode:
    """Base of the grad-mode switches: a context manager that is also a decorator."""

    mode = None

    def __enter__(self):
        self._previous = _set_grad_mode(self.mode)
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self._previous)
        return False

    def __call__(self, fn):
        mode = self.mode
        if inspect.isgeneratorfunction(fn):
            return _generator_in_mode(fn, mode)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = _set_grad_mode(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set_grad_mode(previous)

        return wrapper


def _generator_in_mode(fn, mode):
    """A generator function decorated by a grad-mode switch, as torch does it: the mode holds
    while the generator's body runs (each resumption), not while the generator object is
    made, and the caller's mode is back between two ``next()``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        generator = fn(*args, **kwargs)
        step, value = generator.send, None
        while True:
            previous = _set_grad_mode(mode)
            try:
                response = step(value)
            except StopIteration as stop:
                return stop.value
            finally:
                _set_grad_mode(previous)
            try:
                value, step = (yield response), generator.send
            except GeneratorExit:
                previous = _set_grad_mode(mode)  # its finally blocks run in the mode too
                try:
                    generator.close()
                finally:
                    _set_grad_mode(previous)
                raise
            except BaseException as error:  # thrown in: passed to the body, in the mode
                value, step = error, generator.throw

    return wrapper


class _BareDecorator(_GradMode):
    """A switch that also decorates without parentheses, as torch 2's: ``@no_grad`` on a
    function is ``@no_grad()``."""

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return cls()(args[0])
        return super().__new__(cls)


class no_grad(_BareDecorator):
    """Context manager (and decorator) that disables graph recording, like ``torch.no_grad``."""

    mode = False


class inference_mode(_BareDecorator):
    """``torch.inference_mode``: here the same as ``no_grad`` (``inference_mode(False)`` records).

    Usable as a context manager and a decorator.
    """

    def __init__(self, mode=True):
        self.mode = not mode


class enable_grad(_BareDecorator):
    """Context manager (and decorator) that enables graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Set grad mode on or off; works as a function call, a context manager or a decorator."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._previous = _set_grad_mode(self.mode)

    def __enter__(self):
        return self

    def __call__(self, fn):
        # Used as a decorator, the call that built this object must not change the mode.
        _set_grad_mode(self._previous)
        return super().__call__(fn)
