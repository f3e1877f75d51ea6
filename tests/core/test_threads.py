"""tinydl.set_num_threads / get_num_threads and the import-time default (tinydl.threads)."""
import ast
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tinydl import threads


_STATE = ("_chosen", "_auto", "_sample", "_idle_count", "_others", "_pool", "_step_at",
          "_switched_at", "_reference", "_on_trial", "_trial_at", "_trial_step")


@pytest.fixture
def restore_threads():
    before = threads.get_num_threads()
    state = {name: getattr(threads, name) for name in _STATE}
    lists = {name: list(getattr(threads, name)) for name in ("_steps", "_early")}
    yield
    threads.set_num_threads(before)
    for name, value in state.items():
        setattr(threads, name, value)
    for name, value in lists.items():
        getattr(threads, name)[:] = value


def test_set_and_get_round_trip(restore_threads):
    from threadpoolctl import threadpool_info

    for n in (1, 2, 1):
        threads.set_num_threads(n)
        assert threads.get_num_threads() == n
        blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(count == n for count in blas)
    threads.set_num_threads(np.int64(1))
    assert threads.get_num_threads() == 1
    a = np.random.default_rng(0).normal(size=(64, 64))
    np.testing.assert_allclose(a @ np.eye(64), a)  # BLAS still works


@pytest.mark.parametrize("bad,error", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                       ("2", TypeError), (True, TypeError)])
def test_bad_counts_name_the_function(bad, error, restore_threads):
    with pytest.raises(error, match="set_num_threads"):
        threads.set_num_threads(bad)


# Loads tinydl/threads.py by path: importing the whole package would triple each probe's cost.
_PROBE = f"""
import importlib.util
import numpy as np
spec = importlib.util.spec_from_file_location("probe_threads", {threads.__file__!r})
threads = importlib.util.module_from_spec(spec)
spec.loader.exec_module(threads)
print(threads.apply_default(), threads.get_num_threads())
"""


def _probe(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in threads.THREAD_ENV_VARS + ("TINYDL_NUM_THREADS",)}
    env.update(env_changes)
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_default_applies_only_when_the_user_chose_nothing():
    # The automatic policy starts at one thread (Linux: it reads /proc/stat).
    assert _probe() == ["auto", str(threads.DEFAULT_THREADS)]
    # OpenBLAS read the variable itself; tinydl leaves the pool as it found it.
    assert _probe(OPENBLAS_NUM_THREADS="2") == ["None", "2"]
    assert _probe(TINYDL_NUM_THREADS="2") == ["2", "2"]
    assert _probe(TINYDL_NUM_THREADS="auto", OPENBLAS_NUM_THREADS="2") == ["auto", "1"]


def test_explicit_call_wins_over_the_default(restore_threads):
    threads.set_num_threads(2)
    assert threads.apply_default() is None
    assert threads.get_num_threads() == 2


@pytest.fixture
def scripted_machine(monkeypatch, restore_threads):
    """``adapt`` against a scripted machine of 2 cores: /proc/stat's busy ticks, this process's
    CPU seconds and the clock advance as each case says (``run``); the pool sizes the policy
    sets go to ``counts``."""
    now = {"t": 50.0, "busy": 10_000, "own": 3.0}
    counts = []
    monkeypatch.setattr(threads, "_busy_ticks", lambda: round(now["busy"]))
    monkeypatch.setattr(threads, "_own_seconds", lambda: now["own"])
    monkeypatch.setattr(threads, "time", SimpleNamespace(monotonic=lambda: now["t"]))
    monkeypatch.setattr(threads, "_set_pools", counts.append)
    monkeypatch.setattr(threads, "_cores", 2)

    def advance(seconds, ours=1.0, others=0.0):
        """``seconds`` pass with this process on ``ours`` cores and others on ``others``."""
        now["t"] += seconds
        now["own"] += ours * seconds
        now["busy"] += (ours + others) * seconds * threads._TICKS

    def run(seconds, ours=1.0, others=0.0):
        """``advance``, then the policy looks. Returns the count it allows."""
        advance(seconds, ours, others)
        threads.adapt()
        return threads._idle_count

    def steps(count, seconds_on, others=0.0):
        """``count`` training steps, each starting with the backward pass's look and taking
        ``seconds_on[pool size]`` (the size last set); returns each step's pool size."""
        pools = []
        for _ in range(count):
            threads.adapt(step=True)
            pools.append(counts[-1])
            advance(seconds_on[counts[-1]], ours=counts[-1], others=others)
        return pools

    return SimpleNamespace(run=run, steps=steps, counts=counts, now=now)


def test_auto_policy_gives_a_thread_to_each_core_others_leave_idle(scripted_machine):
    run, counts = scripted_machine.run, scripted_machine.counts
    window = 0.25  # seconds between looks: over AUTO_INTERVAL, under STALE_AFTER

    assert threads.enable_auto() and counts == [1]
    assert run(window, ours=1.0, others=0.05) == 2  # idle beside us: both cores
    assert run(window, ours=2.0, others=0.0) == 2  # our own two threads are not "others"
    assert run(threads.AUTO_INTERVAL / 2, ours=2.0, others=2.0) == 2  # too soon to look again
    assert run(window, ours=1.0, others=1.0) == 1  # one busy neighbour: one thread
    assert run(window, ours=1.0, others=0.5) == 1  # half a core taken is not idle
    assert run(window, ours=1.0, others=0.2) == 2
    assert counts == [1, 2, 1, 2]  # the pools are resized only when the count changes
    assert run(window, ours=1.0, others=1.5) == 1
    # A busy machine shares a large product among threads (one BLAS thread each) instead:
    # the pool stays at one.
    assert threads.shares_product(threads.LARGE_PRODUCT)
    assert not threads.shares_product(threads.LARGE_PRODUCT - 1)
    assert threads._idle_count == 1 and counts == [1, 2, 1, 2, 1]
    assert run(window, ours=1.0, others=0.0) == 2  # an idle one runs it on BLAS's threads
    assert not threads.shares_product(threads.LARGE_PRODUCT)
    assert run(window, ours=1.0, others=0.3) == 1  # so does a light neighbour (under SHARE_FROM)
    assert not threads.shares_product(threads.LARGE_PRODUCT)
    assert run(window, ours=1.0, others=threads.SHARE_FROM + 0.05) == 1  # (ticks: 0.04 a core)
    assert threads.shares_product(threads.LARGE_PRODUCT)
    threads.set_num_threads(1)  # an explicit count ends the policy, and the sharing
    assert not threads.shares_product(threads.LARGE_PRODUCT)
    assert run(window, ours=1.0, others=0.0) == 1 and counts[-1] == 1


def test_a_look_long_after_the_last_counts_the_threads_running_now(monkeypatch,
                                                                   scripted_machine):
    """The window of a late look mixes then and now: the policy asks who runs now instead."""
    running, asked = {"others": 0.0}, []

    def running_others(fallback):
        asked.append(fallback)
        return running["others"]

    monkeypatch.setattr(threads, "_running_others", running_others)
    look = scripted_machine.run

    assert threads.enable_auto()
    assert look(threads.AUTO_INTERVAL, others=2.0) == 1 and asked == []
    # Busy processes for most of a long window, gone now: both cores at once.
    assert look(threads.STALE_AFTER + 0.05, others=1.6) == 2
    assert asked == [pytest.approx(1.6, abs=0.05)]
    assert not threads.shares_product(threads.LARGE_PRODUCT)
    running["others"] = 2.0  # and the other way round: a quiet window, busy now
    assert look(10 * threads.STALE_AFTER, others=0.0) == 1
    assert threads.shares_product(threads.LARGE_PRODUCT)
    assert look(threads.AUTO_INTERVAL, others=0.0) == 2 and len(asked) == 2


def _switches(pools):
    """Indices of the steps whose pool size differs from the step before."""
    return [i for i in range(1, len(pools)) if pools[i] != pools[i - 1]]


def test_an_idle_machine_tries_one_thread_and_keeps_it_while_faster(scripted_machine):
    steps, counts = scripted_machine.steps, scripted_machine.counts
    assert threads.enable_auto() and counts == [1]
    slower_on_two = {1: 0.001, 2: 0.0011}  # every core 10% slower: the host's spell
    pools = steps(900, slower_on_two)
    assert pools[0] == 1 and threads._idle_count == 2
    # Every core from the first look on, timed after TRIAL_SETTLE, then one thread on trial,
    # then every core timed again; one thread was faster than both, and takes the pools.
    first_two, trial, again, won = _switches(pools)
    assert first_two == pytest.approx(threads.AUTO_INTERVAL / 0.001, abs=2)
    settle_steps = threads.TRIAL_SETTLE / 0.0011
    assert trial - first_two == pytest.approx(settle_steps + threads.TRIAL_STEPS, abs=3)
    assert won - again == pytest.approx(settle_steps + threads.TRIAL_STEPS, abs=3)
    assert counts == [1, 2, 1, 2, 1] and set(pools[won:]) == {1}
    # No trial for TRIAL_WAIT seconds at least; then every core is tried again, and wins
    # once faster.
    assert set(steps(int(threads.TRIAL_WAIT / 0.001), slower_on_two)) == {1}
    pools = steps(int(2 * threads.TRIAL_WAIT / 0.001), {1: 0.001, 2: 0.0008})
    assert counts == [1, 2, 1, 2, 1, 2, 1, 2] and pools[-1] == 2
    assert set(pools[_switches(pools)[-1]:]) == {2}


def test_a_trial_wins_only_against_the_steps_before_and_after_it(scripted_machine):
    """Steps that changed while one thread was on trial (a script that went on to a smaller
    model) make it look faster than every core's steps before: timed again after it, every
    core is as fast, and keeps the pools."""
    steps, counts = scripted_machine.steps, scripted_machine.counts
    assert threads.enable_auto()
    big, small = {1: 0.0021, 2: 0.002}, {1: 0.00105, 2: 0.001}
    while len(counts) < 3:  # every core timed on the big model, until one thread's trial
        steps(1, big)
    pools = steps(3000, small)
    assert counts == [1, 2, 1, 2] and pools[-1] == 2


def test_a_trial_that_loses_goes_back_and_waits(scripted_machine):
    steps = scripted_machine.steps
    assert threads.enable_auto()
    # One thread 5% slower: each trial settles and measures, then every core again, trials
    # far enough apart that they take at most TRIAL_SHARE of the time.
    a_little_faster_on_two = {1: 0.00105, 2: 0.001}
    pools = steps(int(30 / 0.001), a_little_faster_on_two)
    starts = [i for i in _switches(pools) if pools[i] == 1]
    assert len(starts) >= 3 and pools[-1] == 2
    trial_seconds = threads.TRIAL_SETTLE + threads.TRIAL_STEPS * 0.00105
    on_one = sum(p == 1 for p in pools[starts[0]:]) * 0.00105
    assert on_one == pytest.approx(len(starts) * trial_seconds, rel=0.1)
    gaps = np.diff(starts) * 0.001  # seconds apart, roughly (most steps take 1 ms)
    assert min(gaps) >= max(threads.TRIAL_WAIT, trial_seconds / threads.TRIAL_SHARE * 0.9)
    # One thread 1.5x slower: a trial ends after its first five steps, TRIAL_WAIT apart.
    pools = steps(int(30 / 0.001), {1: 0.0015, 2: 0.001})
    starts = [i for i in _switches(pools) if pools[i] == 1]
    assert len(starts) >= 4 and sum(p == 1 for p in pools) == 5 * len(starts)
    assert min(np.diff(starts)) * 0.001 >= threads.TRIAL_WAIT
    # Long steps: a measurement takes 3 (TRIAL_SECONDS); trials stay under TRIAL_SHARE.
    long = {1: 0.12, 2: 0.1}
    pools = steps(1500, long)
    on_one = sum(p == 1 for p in pools) * long[1]
    assert 0 < on_one <= threads.TRIAL_SHARE * (sum(long[p] for p in pools)) * 1.5
    assert pools[-1] == 2


def test_no_trials_under_load_nor_for_products_alone(monkeypatch, scripted_machine):
    steps, counts, run = scripted_machine.steps, scripted_machine.counts, scripted_machine.run
    monkeypatch.setattr(threads, "_running_others", lambda fallback: fallback)
    assert threads.enable_auto()
    assert run(threads.AUTO_INTERVAL, others=2.0) == 1
    assert set(steps(2000, {1: 0.001, 2: 0.0005}, others=2.0)) == {1}  # one thread is all
    assert counts == [1]
    for _ in range(2000):  # tinydl.matmul's looks time no steps
        run(0.001)
    assert counts == [1, 2]
    # A look that changes the count restarts the trials: the first comes once every core has
    # been timed.
    pools = steps(1000, {1: 0.0009, 2: 0.001})
    assert counts == [1, 2, 1, 2, 1] and pools[-1] == 1
    assert run(threads.AUTO_INTERVAL, others=2.0) == 1 and counts == [1, 2, 1, 2, 1]
    assert run(threads.AUTO_INTERVAL, others=0.0) == 2 and counts == [1, 2, 1, 2, 1, 2]
    # A pause of the user's loop inside a measurement is one long step: the median holds,
    # and one thread, slower, loses its trial (a mean would have let it win).
    steps(int(threads.TRIAL_SETTLE / 0.001) + 5, {1: 0.0015, 2: 0.001})
    scripted_machine.now["t"] += 3.0
    steps(400, {1: 0.0015, 2: 0.001})
    assert counts == [1, 2, 1, 2, 1, 2, 1, 2]


def test_running_others_reads_the_machine_and_this_process(tmp_path, monkeypatch):
    loadavg, tasks = tmp_path / "loadavg", tmp_path / "task"
    loadavg.write_text("2.50 1.20 0.80 5/312 4242\n")
    for tid, state in ((11, "R"), (12, "S"), (13, "R")):
        (tasks / str(tid)).mkdir(parents=True)
        # The thread's name may hold spaces and parentheses: the state follows the last ")".
        (tasks / str(tid) / "stat").write_text(f"{tid} (odd ) name) {state} 1 2 3\n")
    (tasks / "14").mkdir()  # a thread that ended between the listing and the reading
    monkeypatch.setattr(threads, "_PROC_LOADAVG", str(loadavg))
    monkeypatch.setattr(threads, "_PROC_TASKS", str(tasks))
    assert threads._running_others(-1.0) == 3.0  # five running, two of them ours
    loadavg.write_text("0.1 0.1 0.1 1/80 7\n")
    assert threads._running_others(-1.0) == 0.0  # never below zero
    monkeypatch.setattr(threads, "_PROC_LOADAVG", str(tmp_path / "missing"))
    assert threads._running_others(0.7) == 0.7  # unreadable: the window's figure stands


def test_backward_and_matmul_let_the_policy_look(monkeypatch):
    import tinydl
    from tinydl.ops import linalg

    calls, asked = [], []
    monkeypatch.setattr(threads, "adapt", lambda step=False: calls.append(step))
    monkeypatch.setattr(threads, "shares_product", lambda work: asked.append(work) and False)
    monkeypatch.setattr(threads, "task_threads", lambda: 1)  # no stack is shared
    monkeypatch.setattr(linalg, "STACK_MIN_WORK", 0)  # the policy is asked about every size
    a = tinydl.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    a @ a.T
    assert calls == [False] and asked == [3 * 4 * 3]  # the product's multiply-adds
    batched = tinydl.Tensor(np.ones((5, 3, 4), np.float32))
    batched @ batched.transpose(0, 2, 1)
    a @ batched.transpose(0, 2, 1)  # a broadcasts over the 5
    a[0] @ a.T  # a vector times a matrix: one BLAS call, nothing to share
    assert len(calls) == 4 and asked[1:] == [5 * 3 * 4 * 3, 5 * 3 * 4 * 3]
    calls.clear()
    (a * a).sum().backward()  # no product inside: the backward pass's own look, a step
    assert calls == [True]


def test_busy_ticks_count_only_the_cores_this_process_may_use(tmp_path, monkeypatch):
    # user nice system idle iowait irq softirq steal: busy = all but idle and iowait
    stat = tmp_path / "stat"
    stat.write_text("cpu  99 0 0 0 0 0 0 0 0 0\n"
                    "cpu0 10 0 0 500 7 0 0 0 0 0\n"
                    "cpu1 20 1 2 400 9 3 4 5 0 0\n"
                    "cpu2 30 0 0 300 0 0 0 0 0 0\n"
                    "cpu3 40 0 6 200 0 0 0 1 0 0\n"
                    "intr 12345\n")
    monkeypatch.setattr(threads, "_PROC_STAT", str(stat))
    monkeypatch.setattr(threads, "_cpus", {1, 3})
    assert threads._busy_ticks() == (20 + 1 + 2 + 3 + 4 + 5) + (40 + 6 + 1)


def test_task_threads_are_every_core_under_the_policy_else_the_users_count(monkeypatch,
                                                                         restore_threads):
    monkeypatch.setattr(threads, "_cores", 3)
    threads.set_num_threads(1)  # the user's count, also for convolution chunks
    assert threads.task_threads() == 1
    threads.set_num_threads(2)
    assert threads.task_threads() == 2
    if threads.enable_auto():  # where /proc/stat can be read: every core, whatever the load
        threads.set_pool_size(1)
        assert threads.task_threads() == 3


def test_set_num_threads_off_the_main_thread_raises_instead_of_doing_nothing(restore_threads):
    import threading
    threads.set_num_threads(2)
    outcome = []

    def work():
        try:
            threads.set_num_threads(1)
        except RuntimeError as err:
            outcome.append(str(err))
        else:
            outcome.append(threads.get_num_threads())

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    # OpenBLAS ignores a count set there: an error then, never a silent no-op (it read 2)
    assert outcome == [1] or "only from the main thread" in str(outcome[0]), outcome


def test_a_convolution_weight_gradient_is_the_same_in_every_run_and_thread_count(monkeypatch):
    """Chunks' partial sums were added per thread, in the order the threads happened to claim
    them: dW changed in its last bits from run to run (10 of 10 reruns of a Winograd conv),
    and a seeded training run did not repeat."""
    import tinydl
    import tinydl.nn.functional as F
    from tinydl.ops import conv
    monkeypatch.setattr(threads, "task_threads", lambda: 2)  # (the suite runs BLAS on one)
    rng = np.random.default_rng(0)
    before = conv.PARALLEL_MIN_WORK
    conv.PARALLEL_MIN_WORK = 1  # share every convolution among the threads
    try:
        # the Winograd route (3x3) and im2col's sample-major one (5x5)
        for shape, k in (((32, 32, 32, 32), 3), ((32, 16, 28, 28), 5)):
            x = rng.standard_normal(shape).astype(np.float32)
            w = rng.standard_normal((32, shape[1], k, k)).astype(np.float32)

            def weight_grad():
                W = tinydl.tensor(w, requires_grad=True)
                F.conv2d(tinydl.tensor(x, requires_grad=True), W, padding=1).sum().backward()
                return W.grad.numpy().copy()

            first = weight_grad()
            for _ in range(5):
                np.testing.assert_array_equal(weight_grad(), first)
    finally:
        conv.PARALLEL_MIN_WORK = before


def test_keep_apart_keeps_helpers_off_the_callers_cpu_and_sets_masks_only_on_change(
        monkeypatch):
    """The helpers get every allowed CPU but the caller's, through one system call per
    change of the caller's CPU or of its allowed CPUs; nothing where no other CPU is left."""
    calls = []
    cpu = [1]
    allowed = [{0, 1, 2}]
    monkeypatch.setattr(threads, "_getcpu", lambda: cpu[0])
    monkeypatch.setattr(threads, "_kept", {})
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(allowed[0]))
    monkeypatch.setattr(threads.os, "sched_setaffinity", lambda tid, m: calls.append((tid, m)))
    threads.keep_apart([11, 12])
    threads.keep_apart([11, 12])  # nothing changed: no call
    assert calls == [(11, {0, 2}), (12, {0, 2})]
    cpu[0] = 0
    threads.keep_apart([11])
    assert calls[-1] == (11, {1, 2}) and len(calls) == 3
    allowed[0] = {0}  # the process restricted to the caller's CPU: left alone
    threads.keep_apart([11, 12])
    assert len(calls) == 3

    def refuse(tid, mask):
        raise OSError(22, "Invalid argument")

    allowed[0] = {0, 3}
    monkeypatch.setattr(threads.os, "sched_setaffinity", refuse)
    threads.keep_apart([11])  # a cpuset that no longer allows the CPUs: no error
    assert threads._kept[11] == {1, 2}


@pytest.mark.skipif(threads._getcpu is None or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two CPUs")
def test_a_shared_convolution_keeps_its_worker_off_the_callers_cpu(monkeypatch):
    """The worker thread of a convolution shared between two threads ends up allowed every
    CPU of the process but one (the caller's when it started), while the caller keeps all
    of its own, which threads it starts later inherit."""
    import tinydl
    import tinydl.nn.functional as F
    from tinydl.ops import conv
    monkeypatch.setattr(threads, "task_threads", lambda: 2)
    monkeypatch.setattr(conv, "PARALLEL_MIN_WORK", 1)
    mine = os.sched_getaffinity(0)
    x = tinydl.tensor(np.ones((8, 3, 32, 32), np.float32), requires_grad=True)
    w = tinydl.tensor(np.ones((8, 3, 3, 3), np.float32), requires_grad=True)
    with tinydl.backends.flags(numba=True, conv_route="sample-major"):
        F.conv2d(x, w, padding=1).sum().backward()
    worker = os.sched_getaffinity(conv._worker_ids[0])
    assert len(worker) == len(mine) - 1 and worker < mine
    assert os.sched_getaffinity(0) == mine


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_shared_product_is_np_matmul_for_tall_wide_batched_and_transposed_operands(
        monkeypatch, dtype):
    """A busy machine's large products run as blocks of the output's rows (or columns, when
    those are more, or of a stack's matrices) that two threads claim
    (``tinydl.ops.linalg._shared_product``): the result is np.matmul's, lengths the blocks do
    not divide included, and the same bits in every run whichever thread took which block."""
    from tinydl.ops import linalg
    monkeypatch.setattr(threads, "task_threads", lambda: 2)
    rng = np.random.default_rng(0)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    cases = [((37, 5), (5, 9)), ((3, 6), (6, 41)), ((6, 10), (2, 10, 3)), ((2, 2), (2, 2)),
             ((1, 8), (8, 3)), ((2, 9, 4), (4, 3)),
             # stacks of at least a block per matrix: blocks of whole matrices, broadcast too
             ((4, 1, 13, 7), (3, 7, 11)), ((6, 5, 3), (6, 3, 4)), ((7, 1, 4, 3), (3, 5)),
             ((1, 5, 3), (9, 3, 2)), ((5, 2, 3), (5, 1, 3, 4))]
    for shape_a, shape_b in cases:
        a = rng.standard_normal(shape_a).astype(dtype)
        b = rng.standard_normal(shape_b).astype(dtype)
        got = linalg._shared_product(a, b)
        assert got.dtype == dtype and got.shape == np.matmul(a, b).shape
        np.testing.assert_allclose(got, np.matmul(a, b), **tol)
        for _ in range(3):
            np.testing.assert_array_equal(linalg._shared_product(a, b), got)
    a = rng.standard_normal((9, 40)).astype(dtype).T  # Fortran-ordered views, as backward's
    b = rng.standard_normal((7, 9)).astype(dtype).T
    np.testing.assert_allclose(linalg._shared_product(a, b), a @ b, **tol)
    np.testing.assert_allclose(linalg._shared_product(b.T, a.T), b.T @ a.T, **tol)


def test_matmul_shares_a_large_product_only_when_the_policy_says_so(monkeypatch):
    """``tinydl.matmul`` hands float products of matrices to ``_shared_product`` when
    ``threads.shares_product`` says so, forward and backward alike, with the same values and
    gradients as one BLAS call; vectors, integer and mixed dtypes, and misaligned shapes take
    the one call (the last still naming the shapes)."""
    import tinydl
    from tinydl.ops import linalg
    from tinydl.ops._util import ShapeError
    monkeypatch.setattr(threads, "task_threads", lambda: 2)
    rng = np.random.default_rng(1)
    a0 = rng.standard_normal((30, 8))
    b0 = rng.standard_normal((8, 50))

    def run():
        a = tinydl.tensor(a0, requires_grad=True)
        b = tinydl.tensor(b0, requires_grad=True)
        (a @ b).sin().sum().backward()
        return (a @ b).numpy(), a.grad.numpy(), b.grad.numpy()

    plain = run()
    shared = []
    real = linalg._shared_product
    monkeypatch.setattr(threads, "shares_product", lambda work: True)
    monkeypatch.setattr(linalg, "STACK_MIN_WORK", 0)  # (the smallest size the policy is asked)
    monkeypatch.setattr(linalg, "_shared_product",
                        lambda a, b: shared.append((a.shape, b.shape)) or real(a, b))
    for got, want in zip(run(), plain):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # forward, backward's dA = G @ B^T and dB = A^T @ G, and forward again
    assert shared == [((30, 8), (8, 50)), ((30, 50), (50, 8)), ((8, 30), (30, 50)),
                      ((30, 8), (8, 50))]
    shared.clear()
    tinydl.tensor(a0[0]) @ tinydl.tensor(b0)
    tinydl.tensor(np.ones((3, 4), np.int64)) @ tinydl.tensor(np.ones((4, 2), np.int64))
    mixed = linalg._product(np.ones((3, 4), np.float32), np.ones((4, 2)))  # (matmul promotes)
    assert mixed.dtype == np.float64 and np.all(mixed == 4)
    with pytest.raises(ShapeError, match=r"matmul: shapes \(30, 8\) and \(30, 8\) are not"):
        tinydl.tensor(a0) @ tinydl.tensor(a0)
    assert shared == []


def test_a_stack_of_products_is_shared_by_matrices_whenever_there_are_task_threads(
        monkeypatch):
    """A stack of at least two matrices per task thread and ``STACK_MIN_WORK`` multiply-adds
    is shared whatever the policy (``tinydl.ops.linalg._shares_stack``): its first axis,
    broadcast, counts; a shorter stack, a single matrix, a smaller product or one task
    thread take one BLAS call."""
    import tinydl
    from tinydl.ops import linalg
    shared = []
    real = linalg._shared_product
    monkeypatch.setattr(linalg, "_shared_product",
                        lambda a, b: shared.append((a.shape, b.shape)) or real(a, b))
    monkeypatch.setattr(threads, "shares_product", lambda work: False)  # an idle machine
    monkeypatch.setattr(threads, "task_threads", lambda: 2)
    monkeypatch.setattr(linalg, "STACK_MIN_WORK", 4 * 3 * 5 * 2)
    rng = np.random.default_rng(2)

    def product(shape_a, shape_b):
        a = rng.standard_normal(shape_a).astype(np.float32)
        b = rng.standard_normal(shape_b).astype(np.float32)
        got = (tinydl.tensor(a) @ tinydl.tensor(b)).numpy()
        np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)

    product((4, 3, 5), (4, 5, 2))  # 4 matrices: two per thread, 120 multiply-adds
    product((1, 3, 5), (4, 5, 2))  # a broadcasts over b's 4
    product((3, 5), (4, 5, 2))  # b's stack
    assert [s[0] for s in shared] == [(4, 3, 5), (1, 3, 5), (3, 5)]
    shared.clear()
    product((4, 3, 5), (5, 2))  # a stack times a matrix: one product of its 12 rows
    product((3, 3, 5), (3, 5, 2))  # three matrices: fewer than two per thread
    product((4, 3, 4), (4, 4, 2))  # 96 multiply-adds: under STACK_MIN_WORK
    product((30, 5), (5, 20))  # a single matrix on an idle machine
    monkeypatch.setattr(threads, "task_threads", lambda: 1)
    product((8, 3, 5), (8, 5, 2))  # one task thread
    assert shared == []


def test_single_blas_narrows_the_pools_on_the_main_thread_only(restore_threads):
    import threading

    threads.set_num_threads(2)
    with threads.single_blas():
        assert threads.get_num_threads() == 1
    assert threads.get_num_threads() == 2
    seen = []

    def elsewhere():  # OpenBLAS takes a count only from the main thread: left as it is
        with threads.single_blas():
            seen.append(threads.get_num_threads())

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert seen == [2] and threads.get_num_threads() == 2


_WINOGRAD_THEN_COUNTS = """
import sys, threading
import numpy as np, tinydl, tinydl.nn.functional as F
from threadpoolctl import threadpool_info
tinydl.set_num_threads(1)
x = tinydl.Tensor(np.ones((2, 16, 8, 8), np.float32), requires_grad=True)
w = tinydl.Tensor(np.ones((16, 16, 3, 3), np.float32), requires_grad=True)

def conv():
    with tinydl.backends.flags(numba=True):
        F.conv2d(x, w, padding=1).sum().backward()

if sys.argv[1] == "thread":  # the first Winograd convolution off the main thread
    worker = threading.Thread(target=conv)
    worker.start()
    worker.join()
conv()
print(sorted({i["filepath"]: i["num_threads"] for i in threadpool_info()
              if i["user_api"] == "blas"}.values()), tinydl.get_num_threads())
"""


@pytest.mark.parametrize("first", ["main", "thread"])
def test_the_blas_winograd_loads_follows_the_users_count(first):
    """The Winograd chunk kernels multiply through SciPy's BLAS (Numba's np.dot), loaded after
    tinydl set its count: the first convolution on the main thread puts it under that count
    (refresh_blas); it would run as many threads as cores otherwise. When the first one ran
    in another thread (where OpenBLAS takes no count), SciPy's BLAS ran 2 threads for good
    and the main thread's next convolution raised NumPy's to 2 as well. A fresh process:
    SciPy's BLAS must not be loaded before."""
    env = {k: v for k, v in os.environ.items()
           if k not in threads.THREAD_ENV_VARS + ("TINYDL_NUM_THREADS",)}
    done = subprocess.run([sys.executable, "-c", _WINOGRAD_THEN_COUNTS, first],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    counts, total = ast.literal_eval(line.rsplit(" ", 1)[0]), int(line.rsplit(" ", 1)[1])
    assert len(counts) >= 1 and set(counts) == {1} and total == 1, line


def test_single_blas_gives_each_library_its_own_count_back(restore_threads):
    """Two BLAS libraries at different counts (one loaded after tinydl set its count) each get
    their own back, not the largest."""
    import scipy.linalg.cython_blas  # noqa: F401 - a second BLAS where SciPy has its own

    threads.refresh_blas()
    libraries = threads._blas().lib_controllers
    if len(libraries) < 2:
        pytest.skip("one BLAS library in this process: nothing to tell apart")
    libraries[0].set_num_threads(1)
    for lib in libraries[1:]:
        lib.set_num_threads(2)
    with threads.single_blas():
        assert [lib.get_num_threads() for lib in libraries] == [1] * len(libraries)
    assert [lib.get_num_threads() for lib in libraries] == [1] + [2] * (len(libraries) - 1)
