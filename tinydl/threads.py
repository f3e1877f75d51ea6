"""How many threads tinydl's compute runs on: ``set_num_threads`` / ``get_num_threads`` (torch's
names), and the default applied when tinydl is imported.

tinydl's heavy work is BLAS (NumPy's matmul under every Linear layer and convolution) and a
few Numba kernels, which are serial. The BLAS pool (OpenBLAS in NumPy's wheels) starts with
one thread per core. ``set_num_threads(n)`` sets the BLAS pools of the process through
``threadpoolctl`` (which finds OpenBLAS, MKL or BLIS wherever they were loaded from), and
Numba's pool when the user's own ``parallel=True`` code has started it.

The default comes from measurement (``python -m benchmarks threads``, 2 cores, alternating
rounds, wall-clock medians of 1 thread / 2 threads / the automatic policy below):

    =========================== ================== ================== ===================
    workload                    load avg 2         + 2 busy procs     shared, load 16-24
    =========================== ================== ================== ===================
    quickstart CNN, one epoch   213/211/220 ms     513/497/468 ms     707/819 ms (1/2)
    MLP 784-256-128-10, 6k      185/153/160 ms     445/746/373 ms     908/8542 ms (1/2)
    five 1024^3 GEMMs           131/72/74 ms       286/177/168 ms     888/1069 ms (1/2)
    =========================== ================== ================== ===================

On a busy machine two threads cost up to 9x on the MLP (a BLAS call waits for its slowest
worker, and a busy machine deschedules workers); on a quiet one they gain 1.2x on it and
1.8x on large GEMMs, which gain beside busy processes too. Neither fixed count is within 10%
of the best everywhere. The automatic policy below came within 10% of the best fixed count
in every cell of all seven full runs on 2026-12-06 since it tries one thread on an idle
machine (at most 1.05; each setting's mean epoch over twelve rounds, what a script pays;
``benchmarks/bench_threads.py`` says why not the median round), and of twelve of fourteen
runs before, the other two missing on the idle quickstart epoch alone (1.10 and 1.12: 25-31
ms epochs, which two threads, the policy's choice then, ran slower than one in the host's
spells, ``_time_step``).

When the user chose nothing (none of ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS``, ``BLIS_NUM_THREADS`` set, which the libraries read when they load, and
no ``set_num_threads`` call), ``import tinydl`` applies the **automatic policy**: one BLAS
thread to start with, then as many as the cores other processes leave idle. ``adapt`` looks
at the machine at most every ``AUTO_INTERVAL`` (0.2 s): the busy ticks of the cores this
process may run on (Linux's ``/proc/stat``, 30 us to read) less this process's own CPU time
(``os.times``) are the work of other processes; each core they leave idle (within a quarter
of a core) gets a BLAS thread; while they take half a core or more, a single product of
512^3 multiply-adds or more runs in blocks shared among threads, one per core, each on a
single-threaded BLAS (``shares_product``; a stack of products is shared by whole matrices
on any machine, ``tinydl.ops.linalg._product``). tinydl calls ``adapt`` at the start of
every backward pass and in every ``tinydl.matmul``, so a training loop follows the
machine's load within about half a second (with looks 0.5 s apart, an MLP training loop ran
four to five 130 ms epochs on one thread after two busy processes beside it stopped, against
one at 0.2 s); where ``/proc/stat`` is missing the count stays at one. A look that comes
``STALE_AFTER`` (0.4 s) or more after the last (tinydl ran no step or product in between)
counts the other threads runnable at that moment instead (``/proc/loadavg``): that long a
window's average mixes what ran then with what runs now (``_running_others``). On an idle
machine the policy also times the training steps (backward pass to backward pass) and, every
5 s or more, tries one thread for up to 0.2 s (a few ms where its first steps run far
slower) against every core timed before and after, keeping whichever ran the steps faster
(``_time_step``): on the VM measured here two threads ran the quickstart CNN's small
products 5-9% faster than one, or, in spells of seconds to a minute, 5-9% slower.
``TINYDL_NUM_THREADS=n`` picks a fixed n instead (``auto`` the policy), ``set_num_threads(n)``
fixes n for the rest of the process, and ``threadpoolctl``'s own context managers keep
working on top.

Switching the pool's size is a call into the library, 2-17 us measured here (150 us through
``threadpoolctl.ThreadpoolController.limit``, 1.4 ms through ``threadpool_limits``, which
re-inspects the loaded libraries); the policy switches only when the machine's load changes
or a trial starts or ends (and a shared product narrows the pool to one thread while it
runs).
Importing threadpoolctl and inspecting the libraries adds about 12 ms to ``import tinydl``
(about 2%).

tinydl's convolutions also share their chunks of images among threads of their own
(``task_threads``, ``tinydl.ops.conv.in_parallel``), which ``keep_apart`` keeps off the CPU
of the thread that hands them work: a scheduler that packs a briefly idle process onto one
core would otherwise run both on it.
"""
import contextlib
import ctypes
import os
import sys
import threading
import time

# The variables through which the user (or a launcher such as mpiexec) chose a thread count.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "BLIS_NUM_THREADS")
DEFAULT_THREADS = 1  # where the automatic policy cannot see the machine's load
AUTO_INTERVAL = 0.2  # seconds between two looks at the machine's load
AUTO_MARGIN = 0.25  # of a core: what other processes may use of a core still counted idle
STALE_AFTER = 0.4  # seconds since the last look after which its window no longer tells the load
LARGE_PRODUCT = 1 << 27  # multiply-adds (512^3) from which a busy machine's product is shared
SHARE_FROM = 0.5  # cores' worth of other processes' work from which such a product is shared
TRIAL_STEPS = 20  # training steps timed per count when an idle machine's policy tries one thread
TRIAL_SECONDS = 0.1  # ... or fewer (3 at least) once they took this long
TRIAL_SETTLE = 0.15  # seconds after a switch whose steps go untimed (BLAS workers spin ~0.1 s)
TRIAL_GAIN = 0.97  # the count on trial must take under this share of the other's step time
TRIAL_ABORT = 1.2  # a trial whose first 5 steps take this many times the other's ends at once
TRIAL_WAIT = 5.0  # seconds at least from the end of one trial to the start of the next
TRIAL_SHARE = 0.02  # ... and long enough that trials take at most this share of the time

_controller = None
_chosen = None  # the count of the last set_num_threads, or of the applied default
_auto = False  # the automatic policy is on
_sample = None  # its last look: (monotonic seconds, busy ticks of the machine, own CPU seconds)
_idle_count = None  # the count the machine's load allows, from the last look (and set)
_others = 0.0  # cores' worth of other processes' work, from the last look
_pool = None  # the pools' size under the policy: _idle_count, or the count that won a trial
_step_at = None  # monotonic seconds at which the last training step (backward pass) started
_steps = []  # durations of the steps timed at _pool since the last switch
_early = []  # durations of a trial's steps within TRIAL_SETTLE of its start (up to 5)
_switched_at = 0.0  # monotonic seconds of the last switch of _pool (or of the policy's start)
_reference = None  # the median step at the count in use before a trial
_on_trial = False  # _pool is the count on trial
_trial_step = None  # the median step of the count on trial, while the other is timed again
_trial_at = 0.0  # monotonic seconds from which the next trial may start
_cpus = (os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity")
         else set(range(os.cpu_count() or 1)))  # the cores this process may run on
_cores = len(_cpus)
_PROC_STAT = "/proc/stat"
_PROC_LOADAVG = "/proc/loadavg"
_PROC_TASKS = "/proc/self/task"  # this process's threads
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _blas():
    """The threadpoolctl controller of the BLAS libraries loaded in this process (made once:
    it inspects every loaded shared library, a few ms)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


def set_num_threads(n):
    """Use ``n`` threads (an int >= 1) for BLAS (NumPy's matmul, hence tinydl's Linear and
    convolution layers) and Numba, for the rest of the process, as ``torch.set_num_threads``
    does for torch's pool (the automatic policy stops). Raises TypeError / ValueError naming
    the bad value."""
    global _chosen, _auto
    if isinstance(n, bool) or not isinstance(n, int):
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - NumPy is a dependency
            np = None
        if np is None or not isinstance(n, np.integer):
            raise TypeError(f"tinydl.set_num_threads: n must be an int, got {n!r}")
    n = int(n)
    if n < 1:
        raise ValueError(f"tinydl.set_num_threads: n must be >= 1, got {n}")
    _set_pools(n)
    if get_num_threads() != n and _blas().lib_controllers:
        # OpenBLAS takes a thread count only from the main thread (measured: set from another
        # thread it reads back unchanged), and tinydl's convolutions size their own task
        # threads by it: a silent no-op there would leave both as they were.
        raise RuntimeError(
            f"tinydl.set_num_threads({n}): the BLAS library kept {get_num_threads()} threads; "
            f"OpenBLAS takes a thread count only from the main thread: call it there (this "
            f"is {threading.current_thread().name!r})")
    _auto = False
    _chosen = n


def _set_pools(n):
    """``n`` threads for the BLAS pools, and for Numba's pool if it runs."""
    for lib in _blas().lib_controllers:
        lib.set_num_threads(n)
    _set_numba_pool(n)


def _set_numba_pool(n):
    """``n`` threads for Numba's pool, if it runs."""
    if "numba" in sys.modules:
        # Only a pool that is running: starting Numba's threading layer just to size it
        # would load a library and spawn threads that tinydl's serial kernels never use.
        from numba.np.ufunc import parallel

        if parallel._is_initialized:
            parallel.set_num_threads(min(n, parallel.NUM_THREADS))


def set_pool_size(n):
    """Size the BLAS pools (and Numba's, if running) to ``n`` for a moment, leaving the
    user's choice and the automatic policy as they are: for code that runs its own threads
    and restores the previous size (``get_num_threads``) after."""
    _set_pools(n)


def refresh_blas():
    """Look again for the BLAS libraries in the process, and give those loaded since the last
    look the current thread count (the user's, or the automatic policy's; where the
    environment chose, the libraries read it themselves when they load). For code that loads
    another BLAS: tinydl's Winograd kernels multiply through SciPy's (as Numba's ``np.dot``),
    which ran two threads beside NumPy's one."""
    global _controller
    count = get_num_threads() if _controller is not None else None
    _controller = None
    if count is not None and (_auto or _chosen is not None):
        _set_pools(count)


@contextlib.contextmanager
def single_blas():
    """BLAS on one thread for the duration of the block, then the pools' size as before (the
    user's choice and the policy unchanged): for code that runs its own threads, and for a
    small product just before them.

    OpenBLAS takes a thread count only from the main thread (measured: set in another
    thread, it read back unchanged), so only the main thread narrows the pools and restores
    them; elsewhere the block runs with the pools as they are.

    Why the small products too: after a product that OpenBLAS splits among its threads, its
    idle workers spin (``sched_yield``) for about 2^28 clock cycles, some 0.1 s, before they
    sleep, and a spinning worker holds a core. A convolution that then shares its chunks
    between two threads got about one core: (64,64,16,16)->128's Winograd forward took
    9.8-10.1 ms after its weight transform ran as one product on two BLAS threads, 5.6-5.8
    without (or with ``OPENBLAS_THREAD_TIMEOUT=4``, which OpenBLAS reads only when it loads).
    """
    on_main = threading.current_thread() is threading.main_thread()
    libraries = _blas().lib_controllers if on_main else []
    before = [lib.get_num_threads() for lib in libraries]
    narrowed = any(count is not None and count > 1 for count in before)
    if narrowed:
        set_pool_size(1)
    try:
        yield
    finally:
        if narrowed:  # each library its own count back (they may differ: see refresh_blas)
            for lib, count in zip(libraries, before):
                if count is not None:
                    lib.set_num_threads(count)
            _set_numba_pool(max(c for c in before if c is not None))


def _current_cpu():
    """The function that returns the CPU the calling thread runs on (libc's ``sched_getcpu``),
    or None where there is none (not Linux)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        getcpu = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return None
    getcpu.argtypes, getcpu.restype = (), ctypes.c_int
    return getcpu


_getcpu = _current_cpu()
_kept = {}  # native thread id -> the CPUs keep_apart last allowed it
if hasattr(os, "register_at_fork"):  # a forked child's threads are new ones, with new masks
    os.register_at_fork(after_in_child=_kept.clear)


def keep_apart(thread_ids):
    """Let the threads of ``thread_ids`` (native ids of helper threads that are about to run
    beside the calling thread) run on every CPU this thread may use except the one it runs
    on now; a no-op where that leaves none, or off Linux. The mask is set again only when the
    caller's CPU or its allowed CPUs change (a system call then; else two reads, 0.7 us).

    Why: a Linux scheduler may pack the threads of a process that was idle onto one CPU until
    their load ramps up again; the 2-core VM measured here (kernel 6.18, ``sched_vcpu_pack``)
    ran tinydl's convolution worker on the caller's CPU for the first 5-30 ms after each pause
    (after 80 ms asleep: (32,3,32,32)->32 k3 took 1.8-2.0 ms a call for some 20 calls, as on
    one thread, then 1.1-1.3), which made every round of a benchmark alternating with torch
    start on one core. Kept apart: 1.2-1.45 ms in those calls. Only the helpers are
    restricted: threads the caller starts later (torch's OpenMP pool, say) inherit its own
    mask, untouched."""
    if _getcpu is None:
        return
    allowed = os.sched_getaffinity(0)
    here = _getcpu()
    others = allowed - {here}
    if not others:
        return
    for tid in thread_ids:
        if _kept.get(tid) != others:
            try:
                os.sched_setaffinity(tid, others)
            except OSError:  # a thread gone, or CPUs a cpuset no longer allows: leave it
                continue
            _kept[tid] = others


def task_threads():
    """How many threads may share coarse, independent tasks (tinydl's convolutions split
    their chunks of images among them): every core this process may run on under the
    automatic policy, else the count the user fixed (``set_num_threads``, a library variable,
    ``TINYDL_NUM_THREADS``), read from the BLAS pool.

    Under load the automatic policy gives BLAS one thread, because a product split among
    threads waits for the slowest and a busy machine deschedules some; tasks of a few
    milliseconds each, claimed one at a time, do not wait that way, and a process with more
    threads gets a larger share of a busy machine.
    """
    return _cores if _auto else get_num_threads()


def get_num_threads():
    """The number of threads BLAS runs on now (the largest over the loaded BLAS libraries;
    1 when none is loaded)."""
    counts = [lib.get_num_threads() for lib in _blas().lib_controllers]
    counts = [c for c in counts if c is not None]
    return max(counts) if counts else 1


def user_chose():
    """True when the environment already fixes a thread count (one of ``THREAD_ENV_VARS``,
    or ``TINYDL_NUM_THREADS``), in which case the import-time default is not applied."""
    return any(os.environ.get(name) for name in THREAD_ENV_VARS + ("TINYDL_NUM_THREADS",))


def _busy_ticks():
    """Clock ticks the cores this process may run on spent busy since boot (``/proc/stat``'s
    ``cpuN`` lines: all but idle and iowait). Only those cores count: in a container pinned
    to 2 of a host's 64 cores, the host's other work is not competition."""
    busy = 0
    with open(_PROC_STAT, "rb") as f:
        for line in f:
            if not line.startswith(b"cpu"):
                break
            fields = line.split()
            name = fields[0][3:]
            if not name or int(name) not in _cpus:
                continue  # the all-cores line, or a core this process may not use
            ticks = [int(v) for v in fields[1:9]]
            busy += sum(ticks) - ticks[3] - ticks[4]
    return busy


def _own_seconds():
    times = os.times()
    return times.user + times.system


def enable_auto():
    """Turn the automatic policy on (the default when the user chose no count): one BLAS
    thread now, then one per core that other processes leave idle, re-judged by ``adapt``.
    Returns False, leaving the count alone, where the machine's load cannot be read."""
    global _auto, _sample, _idle_count, _chosen, _others
    try:
        busy = _busy_ticks()
    except (OSError, ValueError, IndexError):
        return False
    _set_pools(DEFAULT_THREADS)
    _idle_count = DEFAULT_THREADS
    _restart_trials(time.monotonic())
    _others = 0.0
    _chosen = None
    _sample = (time.monotonic(), busy, _own_seconds())
    _auto = True
    return True


def adapt(step=False):
    """Under the automatic policy: size the BLAS pool for the next products (``step``: a
    training step starts, as a backward pass does).

    At most every ``AUTO_INTERVAL`` seconds it looks at the cores that other processes used
    since the last look; each core they left idle gets a thread (at least one). The many
    small products of a training step lose to more threads on a busy machine (an MLP epoch
    beside two busy processes: 487 ms on one thread against 761 on two); a large product
    there is shared among threads in blocks instead (``shares_product``). A look
    ``STALE_AFTER`` seconds or more after the last counts the threads that run now
    (``_running_others``). On an idle machine the training steps are timed, and one thread
    is tried against every core now and then (``_time_step``).
    """
    global _sample, _idle_count, _others
    if not _auto:
        return
    now = time.monotonic()
    then, busy_then, own_then = _sample
    elapsed = now - then
    if elapsed >= AUTO_INTERVAL:
        busy, own = _busy_ticks(), _own_seconds()
        _sample = (now, busy, own)
        _others = ((busy - busy_then) / _TICKS - (own - own_then)) / elapsed  # in cores
        if elapsed >= STALE_AFTER:
            _others = _running_others(_others)
        count = max(1, min(_cores, int(_cores - _others + AUTO_MARGIN)))
        if count != _idle_count:  # the pools are resized only when the count changes
            if count != _pool:  # (they may hold it already: one thread that won a trial)
                _set_pools(count)
            _idle_count = count
            _restart_trials(now)
    if step and _idle_count == _cores > 1:
        _time_step(now)


def _restart_trials(now):
    """The pools were set to ``_idle_count`` (the load changed, or the policy started): step
    times start again, and one thread may be tried as soon as every core has been timed."""
    global _pool, _step_at, _switched_at, _reference, _on_trial, _trial_at, _trial_step
    _pool, _step_at, _switched_at, _reference, _on_trial = _idle_count, None, now, None, False
    _trial_at, _trial_step = now, None
    _steps.clear()
    _early.clear()


def _time_step(now):
    """On an idle machine, time the training steps (from one backward pass to the next) and
    try one thread against every core now and then: ``TRIAL_STEPS`` steps at the count in
    use (fewer, at least 3, once they took ``TRIAL_SECONDS``), then as many at the other,
    their medians compared; steps that start within ``TRIAL_SETTLE`` seconds of a switch go
    untimed (OpenBLAS's idle workers spin for about 0.1 s after a product they shared), but
    for the first five of a trial (``TRIAL_ABORT``). Then the pools go back and the count in
    use is timed again; the count on trial wins when its median step is under
    ``TRIAL_GAIN`` of the other's both before and after it (steps that changed during the
    trial, a script that moved on to another model, do not decide it), and takes the pools.
    The next trial comes ``TRIAL_WAIT`` seconds later, or later still where trials would
    take more than ``TRIAL_SHARE`` of the time (long steps).

    Why: on the 2-core VM measured here, two threads ran the quickstart CNN's 1.1 ms steps
    1.05-1.09x faster than one for a minute, then 0.91-0.95x as fast (slower) for half a
    minute, then faster again (0.3 s blocks of each count in turn; within a spell the ratio
    held to 0.01), and two threads gained 1.02-1.04x on an MLP's steps in such a spell
    against 1.42-1.46x outside it: as if the host ran both virtual CPUs on one core at
    times. Spells last seconds to a minute, so a trial a few seconds old mostly still holds.
    A trial whose first five steps already take ``TRIAL_ABORT`` times the other count's
    ends there: on that MLP outside a spell (one thread 1.44x slower) after about 5 ms; in
    30 s of its training loop within a spell (one thread as fast as two) the policy tried
    one thread four times, 5-8.5 s apart, three of them for 0.16-0.17 s.
    """
    global _step_at, _reference, _on_trial, _trial_step
    before, _step_at = _step_at, now
    if before is None:
        return
    other = 1 if _pool == _cores else _cores
    if before < _switched_at + TRIAL_SETTLE:
        if _on_trial and len(_early) < 5:
            _early.append(now - before)
            if len(_early) == 5 and sorted(_early)[2] > TRIAL_ABORT * _reference:
                _end_trial(now, other)  # far slower already: no settling
        return
    _steps.append(now - before)
    if len(_steps) < TRIAL_STEPS and (len(_steps) < 3 or sum(_steps) < TRIAL_SECONDS):
        return
    typical = sorted(_steps)[len(_steps) // 2]
    _steps.clear()
    if _on_trial:
        if typical < TRIAL_GAIN * _reference:  # timed again after it before it may win
            _trial_step = typical
        _end_trial(now, other)
    elif _trial_step is not None:  # the count in use, timed again after a faster trial
        if _trial_step < TRIAL_GAIN * min(_reference, typical):
            _switch(other, now)
        _trial_step = None
        _reference = typical
    else:
        _reference = typical
        if now >= _trial_at:
            _switch(other, now)
            _on_trial = True


def _end_trial(now, other):
    """A trial ends: the pools go back to ``other``, the count in use; the next trial waits."""
    global _on_trial, _trial_at
    trial = now - _switched_at
    _on_trial = False
    _switch(other, now)
    _trial_at = now + max(TRIAL_WAIT, trial * (1 - TRIAL_SHARE) / TRIAL_SHARE)


def _switch(count, now):
    """The pools to ``count`` threads for a trial (or back from one)."""
    global _pool, _switched_at
    _set_pools(count)
    _pool, _switched_at = count, now
    _steps.clear()
    _early.clear()


def _running_others(fallback):
    """Other processes' threads that are runnable now (Linux's ``/proc/loadavg``, less this
    process's own runnable threads), for a look that comes long after the last one: tinydl
    did no training step or product in between, and the average over that window mixes what
    ran then with what runs now. ``fallback`` where they cannot be read.

    Measured (2 cores): an MLP epoch of 93 ms on an idle machine took 138-165 ms as the first
    epoch after two busy processes stopped and a pause of half a second, and 106-117 as the
    second, the window of the first look still holding the busy processes' work; judged by
    this count, 95-103 and 92-98 ms (and beside the busy processes it still chose one
    thread). The count is of every runnable thread of the machine, also on cores this
    process may not use (a container's host): too many can only keep one thread until the
    next look.
    """
    try:
        with open(_PROC_LOADAVG, "rb") as f:
            running = int(f.read().split()[3].split(b"/")[0])
        tids = os.listdir(_PROC_TASKS)
    except (OSError, ValueError, IndexError):
        return fallback
    own = 0
    for tid in tids:
        try:
            with open(os.path.join(_PROC_TASKS, tid, "stat"), "rb") as f:
                own += f.read().rsplit(b")", 1)[1].split()[0] == b"R"
        except (OSError, IndexError):  # a thread that ended since the listing: not running
            continue
    return float(max(0, running - own))


def shares_product(work):
    """True when the automatic policy runs a matrix product of ``work`` multiply-adds as
    independent blocks of rows (or columns) that every core's task thread claims in turn, each
    block on a single-threaded BLAS (``tinydl.ops.linalg``), rather than as one BLAS call:
    under the policy, for a product of at least ``LARGE_PRODUCT`` multiply-adds while other
    processes took ``SHARE_FROM`` of a core or more at the last look. On an idle machine
    BLAS's own threads do better.

    Why: OpenBLAS's threads share the packed panels of one product and wait for each other
    many times within it, and a busy machine deschedules one of them for a slice at a time.
    Measured on 2 cores beside two busy loops (one pinned per core), float32, 12 alternating
    rounds: five 1024^3 products took 66-75 ms on OpenBLAS's two threads (single calls 43 to
    200 ms), 55-57 ms in four blocks (calls 51-66 ms), 92 ms on one thread; 512^3: 91, 80
    and 87 ms for 40 products; (128,4096)@(4096,4096): 84, 52 and 92 ms for two;
    (4096,512)@(512,512): 56, 55 and 92 ms for five. On an idle machine the blocks lost:
    27 against 23 ms for five 1024^3 products (each thread packs the whole of the other
    operand); beside one process busy 30% of the time (in 10 ms cycles) 33 against 29 ms,
    45%: 36 and 37, 60%: 37 and 35, 80%: 40 and 45 (one thread 46). Small products lose to
    the hand-offs beside busy loops: an MLP epoch whose Linear layers' products of 2^22
    multiply-adds or more ran in four blocks took 166 ms against 95 on one thread.
    """
    return _auto and work >= LARGE_PRODUCT and _others >= SHARE_FROM and _cores > 1


def apply_default():
    """Called by ``import tinydl``: ``TINYDL_NUM_THREADS`` threads when that variable is set
    (``auto``: the automatic policy), else the automatic policy unless a library variable is
    set or ``set_num_threads`` was already called. Returns the count set, ``'auto'``, or None
    when it left things alone."""
    requested = os.environ.get("TINYDL_NUM_THREADS")
    if requested and requested.strip().lower() != "auto":
        try:
            count = int(requested)
        except ValueError:
            raise ValueError(f"tinydl: TINYDL_NUM_THREADS must be a positive int or 'auto', "
                             f"got {requested!r}") from None
        set_num_threads(count)
        return count
    if not requested and (_chosen is not None or user_chose()):
        return None
    if enable_auto():
        return "auto"
    set_num_threads(DEFAULT_THREADS)
    return DEFAULT_THREADS
