"""``tinydl.profiler``: where the time and memory of a model go, op by op and layer by layer.

    with tinydl.profiler.profile(model) as prof:
        loss = loss_fn(model(x), y)
        loss.backward()
    print(prof.table(sort_by="total", top=20))          # one row per op (torch's table shape)
    print(prof.table(group_by="module"))                 # one row per layer
    prof.export_chrome_trace("trace.json")               # chrome://tracing or ui.perfetto.dev

What is recorded, for every op call made in the region (``Function.apply``): its forward time,
the time of its ``backward`` when the graph is differentiated, the bytes it allocated (its
output, unless the output is a view of an input, plus the arrays it saved for backward that
are not its inputs or output: masks, indices, normalised copies), and the innermost Module
whose ``forward`` was running. Times are wall-clock (``time.perf_counter_ns``), as torch's
profiler reports them; ``profile(clock='cpu')`` uses the process's CPU time instead
(``time.process_time_ns``), which time spent waiting for a busy machine's cores leaves out.

Ops that run inside another op (a ``backward`` written with tinydl ops, so that double
backward works) count towards that op, not as rows of their own: the table's backward column
is the whole cost of differentiating an op. Ops the backward engine itself runs between nodes
(summing the gradients of a tensor used twice, casting, gradient hooks) get rows named
``engine: <Op>`` in the backward column.

How it costs nothing when off. Nothing in the forward hot path asks whether a profiler is on:
entering ``profile`` swaps ``Function.apply``, ``Module.__call__`` and the backward engine's
entry point for timed versions, and leaving it puts the originals back. The one check that
stays is a single ``is None`` test per backward node in ``tinydl/autograd.py``. Measured on the
backward of a 1,000-op chain of shape-(4,) tensors, old and new engine alternating in one
process, 60 rounds each (process time, load average 16-23 on 2 cores): medians 12.99 against
13.13 ms and 12.73 against 12.87 ms (+1%, the minima the other way round), i.e. within noise.

Overhead when on: 3 to 4 microseconds per recorded call (forward or backward), i.e. +31% to
+39% on that 1,000-op chain forward and backward, where an op costs about 10 microseconds,
and well under 1% for ops of a millisecond or more. The op times themselves leave most of it
out (the bookkeeping runs outside the timed span), so in that chain they cover only 50-75% of
the wall time, against typically 95-99% for ops of a few milliseconds (less when a loaded
machine deschedules the process between two ops).

Not thread-safe: profile one thread at a time, and do not nest ``profile`` blocks.
"""
import json
import os
import threading
import time
from collections import namedtuple

import numpy as np

from tinydl import autograd
from tinydl.autograd import Function, _Edge
from tinydl.nn.module import Module
from tinydl.serialization import write_atomically
from tinydl.tensor import Tensor

__all__ = ["profile", "OpStats"]

OpStats = namedtuple("OpStats", "name calls forward_s backward_calls backward_s bytes")
OpStats.__doc__ = """One row of a profile: an op (or a module, or ``engine: <Op>``) and its totals.

``forward_s`` / ``backward_s`` are seconds summed over calls; ``bytes`` the memory allocated
by its forward calls (outputs and saved arrays); ``calls`` counts forward calls (for a module,
calls of its ``forward``), ``backward_calls`` the backward nodes run."""

_SORT_KEYS = {
    "total": lambda s: s.forward_s + s.backward_s,
    "forward": lambda s: s.forward_s,
    "backward": lambda s: s.backward_s,
    "calls": lambda s: s.calls,
    "memory": lambda s: s.bytes,
    "name": None,
}

# Phases of a recorded event; the trace names them as categories.
_FORWARD, _BACKWARD, _MODULE, _PASS = "forward", "backward", "module", "backward pass"
_NO_MODULE = "(no module)"  # the per-module row of the ops run outside every module


# Context attributes that are bookkeeping, never arrays an op allocated.
_CTX_BOOKKEEPING = frozenset(("inputs", "_out", "fn", "records", "epoch", "consumed",
                              "retains_grad", "hooks", "released"))


def _allocated_bytes(out, args, ctx):
    """Bytes an op call allocated: its output (unless a view of an input) and what it saved.

    ``args`` are the op's arguments. A saved array that is an input, the output, or a view
    of one of them allocated nothing; any other array kept on ``ctx`` (``save_for_backward``
    values, masks, indices) did, as does a saved buffer holder with a ``saved_nbytes``
    (convolution's im2col columns and Winograd's weight tiles).
    """
    data = out.data
    total = data.nbytes
    if data.base is not None and any(np.may_share_memory(data, a) for a in _arrays(args)):
        total = 0
    if ctx is None:
        return total
    saved = []
    for key, value in ctx.__dict__.items():
        if key in _CTX_BOOKKEEPING:
            continue
        if type(value) is np.ndarray:
            saved.append(value)
        elif type(value) is tuple or type(value) is list:
            saved += [v for v in value if type(v) is np.ndarray]
        elif hasattr(type(value), "saved_nbytes"):
            total += value.saved_nbytes
    if saved:
        known = {id(a) for a in _arrays(args)}
        known.add(id(data))
        for v in saved:
            if id(v) in known or (v.base is not None and id(v.base) in known):
                continue
            known.add(id(v))
            total += v.nbytes
    return total


def _arrays(args):
    """The NumPy arrays among an op's arguments (a Tensor's array; an ``_Edge`` has none)."""
    return [a.data if isinstance(a, Tensor) else a for a in args
            if type(a) is np.ndarray or isinstance(a, Tensor) and type(a) is not _Edge]


class profile:
    """Record every op call's forward and backward time and memory inside a ``with`` block.

    ``model`` (optional): a Module whose submodules are named by their path in it
    (``'features.0'``, as ``named_modules``) in the per-module table and the trace; other
    modules are named by their class. After the block: ``table()``, ``stats()``,
    ``export_chrome_trace(path)``, ``wall_time_s`` (the block's time on ``clock``: 'wall',
    the default, or 'cpu', the process's CPU time) and ``total_s``
    (the op time recorded in it). The time between ops (Python, the engine's sort) is the
    difference; for ops of a millisecond or more the two agree within a few percent.
    """

    def __init__(self, model=None, clock="wall"):
        if clock not in ("wall", "cpu"):
            raise ValueError(f"profile: clock must be 'wall' or 'cpu', got {clock!r}")
        self.clock = clock
        self._now = time.perf_counter_ns if clock == "wall" else time.process_time_ns
        if model is not None and not isinstance(model, Module):
            raise TypeError("profile: model must be a tinydl.nn.Module, got "
                            f"{type(model).__name__}")
        self._names = {}
        if model is not None:
            for name, module in model.named_modules():
                label = type(module).__name__
                self._names[id(module)] = f"{name} ({label})" if name else label
        self.events = []  # (phase, name, module, start_ns, duration_ns, bytes, shape)
        self.wall_time_s = None
        self._depth = 0  # > 0 while inside a timed op: its inner ops are part of it
        self._in_pass = 0  # > 0 while the backward engine runs
        self._stack = []  # the Modules whose forward is running, innermost last
        self._saved = None
        self._start_ns = None

    # ------------------------------------------------------------------ entering and leaving
    def __enter__(self):
        if autograd._profiler is not None:
            raise RuntimeError("profile: a profile is already active; profile blocks do not nest")
        self._saved = (Function.__dict__["apply"], Module.__dict__["__call__"],
                       autograd._run_backward)
        plain_apply = Function.__dict__["apply"].__func__
        plain_call = Module.__dict__["__call__"]
        plain_run_backward = autograd._run_backward
        prof = self
        now = self._now

        def apply(cls, *args, **kwargs):
            if prof._depth:
                return plain_apply(cls, *args, **kwargs)
            prof._depth = 1
            start = now()
            try:
                out = plain_apply(cls, *args, **kwargs)
            finally:
                prof._depth = 0
            duration = now() - start
            prof._record_forward(cls, args, out, start, duration)
            return out

        def call(module, *args, **kwargs):
            prof._stack.append(module)
            start = now()
            try:
                return plain_call(module, *args, **kwargs)
            finally:
                prof._stack.pop()
                prof.events.append((_MODULE, prof._module_name(module), None, start,
                                    now() - start, 0, None))

        def run_backward(*args, **kwargs):
            prof._in_pass += 1
            start = now()
            try:
                return plain_run_backward(*args, **kwargs)
            finally:
                prof._in_pass -= 1
                prof.events.append((_PASS, "backward pass", None, start,
                                    now() - start, 0, None))

        Function.apply = classmethod(apply)
        Module.__call__ = call
        autograd._run_backward = run_backward
        autograd._profiler = self
        self._start_ns = now()
        return self

    def __exit__(self, *exc):
        self.wall_time_s = (self._now() - self._start_ns) * 1e-9
        Function.apply, Module.__call__, autograd._run_backward = self._saved
        autograd._profiler = None
        self._saved = None
        return False

    # ------------------------------------------------------------------ recording
    def _module_name(self, module):
        name = self._names.get(id(module))
        if name is None:
            # Not in the given model: its class, numbered when several instances run.
            label = type(module).__name__
            count = sum(1 for n in self._names.values() if n.split("#")[0] == label)
            name = self._names[id(module)] = label if count == 0 else f"{label}#{count + 1}"
        return name

    def _record_forward(self, cls, args, out, start, duration):
        module = self._module_name(self._stack[-1]) if self._stack else None
        ctx = out._ctx
        nbytes = _allocated_bytes(out, args, ctx)
        if ctx is not None:
            ctx.profiled_module = module  # read back when its backward is timed
        if self._in_pass:
            self.events.append((_BACKWARD, f"engine: {cls.__name__}", module, start, duration,
                                nbytes, out.shape))
        else:
            self.events.append((_FORWARD, cls.__name__, module, start, duration, nbytes,
                                out.shape))

    def _time_backward(self, ctx, g):
        """Run ``ctx``'s backward timed (called by ``autograd._run_backward``)."""
        self._depth += 1
        start = self._now()
        try:
            return ctx.fn.backward(ctx, g)
        finally:
            duration = self._now() - start
            self._depth -= 1
            self.events.append((_BACKWARD, ctx.fn.__name__, getattr(ctx, "profiled_module", None),
                                start, duration, 0, None))

    # ------------------------------------------------------------------ reading
    def _check_done(self, caller):
        if self.wall_time_s is None:
            raise RuntimeError(f"profile.{caller}: read the profile after its with block ends")

    @property
    def total_s(self):
        """Seconds spent in ops (forward and backward) inside the block."""
        return sum(e[4] for e in self.events if e[0] in (_FORWARD, _BACKWARD)) * 1e-9

    def stats(self, group_by="op"):
        """Totals per op name (``group_by='op'``) or per innermost module (``'module'``).

        Returns a list of ``OpStats`` in order of first appearance. Per module, the op time is
        "self" time: an op counts for the innermost module running when it was called (ops
        outside every module fall under ``'(no module)'``), so the rows add up to ``total_s``.
        """
        if group_by not in ("op", "module"):
            raise ValueError(f"profile.stats: group_by must be 'op' or 'module', got {group_by!r}")
        self._check_done("stats")
        rows = {}
        by_module = group_by == "module"
        for phase, name, module, _, duration, nbytes, _ in self.events:
            if phase == _PASS:
                continue
            if by_module:
                key = name if phase == _MODULE else (module or _NO_MODULE)
            else:
                if phase == _MODULE:
                    continue
                key = name
            row = rows.setdefault(key, [0, 0, 0, 0, 0])
            if phase == _MODULE:
                row[0] += 1
            elif phase == _FORWARD:
                row[0] += 0 if by_module else 1
                row[1] += duration
                row[4] += nbytes
            else:
                row[2] += 1
                row[3] += duration
                row[4] += nbytes
        return [OpStats(k, r[0], r[1] * 1e-9, r[2], r[3] * 1e-9, r[4]) for k, r in rows.items()]

    def table(self, sort_by="total", top=20, group_by="op"):
        """The profile as a text table, in the shape of torch.profiler's ``table()``.

        Columns: name, calls, forward (self) time, backward time, total, % of all op time,
        memory allocated. ``sort_by``: 'total', 'forward', 'backward', 'calls', 'memory' or
        'name'; ``top``: rows shown (None for all); ``group_by``: 'op' or 'module'.
        Returns the string (``print`` it).
        """
        if sort_by not in _SORT_KEYS:
            raise ValueError(f"profile.table: sort_by must be one of {sorted(_SORT_KEYS)}, "
                             f"got {sort_by!r}")
        rows = self.stats(group_by)
        key = _SORT_KEYS[sort_by]
        if key is None:
            rows.sort(key=lambda s: s.name)
        else:
            rows.sort(key=key, reverse=True)
        shown = rows if top is None else rows[:top]
        total = sum(s.forward_s + s.backward_s for s in rows) or 1.0
        width = max([len("Name")] + [len(s.name) for s in shown])
        width = min(width, 48)
        head = (f"{'Name' if group_by == 'op' else 'Module':<{width}}  {'Calls':>7}  "
                f"{'Forward':>10}  {'Backward':>10}  {'Total':>10}  {'% total':>7}  "
                f"{'Memory':>9}")
        rule = "-" * len(head)
        lines = [rule, head, rule]
        for s in shown:
            t = s.forward_s + s.backward_s
            name = s.name if len(s.name) <= width else s.name[:width - 3] + "..."
            # The ops outside every module: no module was called, so no count (not 0).
            calls = "-" if group_by == "module" and s.name == _NO_MODULE else s.calls
            lines.append(f"{name:<{width}}  {calls:>7}  {_fmt_time(s.forward_s):>10}  "
                         f"{_fmt_time(s.backward_s):>10}  {_fmt_time(t):>10}  "
                         f"{100 * t / total:>6.1f}%  {_fmt_bytes(s.bytes):>9}")
        lines.append(rule)
        if top is not None and len(rows) > top:
            lines.append(f"({len(rows) - top} more rows; table(top=None) shows all)")
        op_total = self.total_s
        share = 100 * op_total / max(self.wall_time_s, 1e-12)
        clock = "wall time" if self.clock == "wall" else "CPU time"
        lines.append(f"Op time {_fmt_time(op_total)} of {_fmt_time(self.wall_time_s)} {clock} "
                     f"in the profiled block ({share:.1f}%)")
        return "\n".join(lines)

    def export_chrome_trace(self, path):
        """Write the profile as Trace Event Format JSON (open in chrome://tracing or Perfetto).

        One complete event (``ph: 'X'``) per op forward, op backward, module call and backward
        pass, with times in microseconds from the start of the block; op events carry their
        module, output shape and bytes in ``args``. Written atomically (a temporary file
        beside ``path``, then ``os.replace``).
        """
        self._check_done("export_chrome_trace")
        pid, tid = os.getpid(), threading.get_ident() % (1 << 31)
        events = [{"name": "process_name", "ph": "M", "pid": pid, "tid": tid,
                   "args": {"name": "tinydl"}}]
        for phase, name, module, start, duration, nbytes, shape in self.events:
            event = {"name": name, "cat": phase, "ph": "X", "pid": pid, "tid": tid,
                     "ts": (start - self._start_ns) / 1000, "dur": duration / 1000}
            if phase in (_FORWARD, _BACKWARD):
                args = {"module": module or _NO_MODULE}
                if shape is not None:
                    args["output shape"] = list(shape)
                    args["bytes"] = nbytes
                event["args"] = args
            events.append(event)
        events[1:] = sorted(events[1:], key=lambda e: (e["ts"], -e["dur"]))
        text = json.dumps({"traceEvents": events, "displayTimeUnit": "ms"})
        write_atomically(path, lambda handle: handle.write(text.encode("utf-8")),
                         "export_chrome_trace")
        return path


def _fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.1f} us"


def _fmt_bytes(n):
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"
