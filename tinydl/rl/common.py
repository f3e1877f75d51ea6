"""What every agent shares: target-network updates, Gymnasium access, greedy evaluation."""
import numpy as np

from tinydl.autograd import no_grad

__all__ = ["parameter_pairs", "polyak_average", "polyak_update", "hard_update", "require_gymnasium", "make_env", "evaluate", "check_solved"]


def parameter_pairs(target, source):
    """[(target_param, source_param), ...] for two Modules of one architecture, checked once.

    Agents keep this list and pass it to ``polyak_average`` every step: walking the module
    tree costs more than averaging a 64-64 network. ``load_state_dict`` copies in place, so
    the pairs stay valid after a reload.
    """
    targets, sources = list(target.parameters()), list(source.parameters())
    if len(targets) != len(sources) or any(t.shape != s.shape for t, s in zip(targets, sources)):
        raise ValueError(f"parameter_pairs: target and source networks must have the same "
                         f"parameters (shapes {[t.shape for t in targets]} vs "
                         f"{[s.shape for s in sources]})")
    return list(zip(targets, sources))


def check_batch(batch, caller, obs_dim, action_shape):
    """The fields of a ``ReplayBuffer.sample`` dict as arrays, checked to share one batch size
    B: obs and next_obs (B, obs_dim), actions (B, *action_shape), rewards and terminated (B,).
    A (B, 1) reward column would broadcast against (B,) values into a (B, B) loss."""
    arrays = {name: np.asarray(batch[name]) for name in
              ("obs", "actions", "rewards", "next_obs", "terminated")}
    size = len(arrays["obs"]) if arrays["obs"].ndim else None
    expected = {"obs": (size, obs_dim), "next_obs": (size, obs_dim),
                "actions": (size, *action_shape), "rewards": (size,), "terminated": (size,)}
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ValueError(f"{caller}: batch[{name!r}] must have shape {shape} (batch of "
                             f"{size}), got {arrays[name].shape}")
    return arrays


def action_indices(actions, n_actions, caller):
    """Discrete actions as int64 indices in [0, n_actions): a float array of whole numbers
    (a buffer that stores everything as float) is read as its integers; 0.9 or 1.7 (truncated
    to 0 and 1 by a cast, silently) and out-of-range actions (-1 picked the last Q-value)
    raise, naming them."""
    given = np.asarray(actions)
    indices = given.astype(np.int64)
    if given.dtype.kind == "f" and not np.array_equal(indices, given):
        raise ValueError(f"{caller}: actions must be whole numbers (discrete action indices), "
                         f"got {given[indices != given][:4].tolist()}")
    if indices.size and (indices.min() < 0 or indices.max() >= n_actions):
        raise ValueError(f"{caller}: actions must be in [0, {n_actions}), got values from "
                         f"{indices.min()} to {indices.max()}")
    return indices


def positive_int(value, caller, name):
    """``value`` as an int >= 1, or a ValueError naming it (a 0 interval divided by zero
    after the optimizer had already stepped)."""
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{caller}: {name} must be a positive int, got {value!r}")
    return int(value)


def polyak_average(pairs, tau):
    """theta_target <- tau theta_source + (1 - tau) theta_target for each pair, in place."""
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"polyak_update: tau must be in [0, 1], got {tau}")
    with no_grad():
        for t, s in pairs:
            if tau == 1.0:
                t.data[...] = s.data
            else:
                t.data *= 1.0 - tau
                t.data += tau * s.data


def polyak_update(target, source, tau):
    """theta_target <- tau theta_source + (1 - tau) theta_target, in place, every parameter.

    Polyak (exponential moving) averaging of target networks (Lillicrap et al. 2016, DDPG);
    tau = 1 is the hard copy of the DQN paper. ``target`` and ``source`` are Modules of the
    same architecture; buffers (none in these MLPs) are not averaged.
    """
    polyak_average(parameter_pairs(target, source), tau)


def hard_update(target, source):
    """theta_target <- theta_source (a copy, not an alias), the DQN paper's periodic sync."""
    polyak_update(target, source, 1.0)


def require_gymnasium(caller):
    """Import gymnasium, or raise ImportError naming the extra that provides it."""
    try:
        import gymnasium
    except ImportError as err:
        raise ImportError(f"{caller} needs gymnasium: pip install \"tinydl[rl]\"") from err
    return gymnasium


def make_env(env_id, **kwargs):
    """``gymnasium.make(env_id, **kwargs)``, with the install hint when gymnasium is missing."""
    gym = require_gymnasium("tinydl.rl.make_env")
    return gym.make(env_id, **kwargs)


def evaluate(agent, env, episodes=100, seed=0):
    """Mean and standard deviation of undiscounted returns of ``agent.act(obs)`` (its greedy
    action) over ``episodes`` episodes; episode i starts from ``env.reset(seed=seed + i)``,
    so evaluations are reproducible. ``env`` is an environment or a Gymnasium id.
    Returns ``(mean, std)`` as floats (population std, ddof=0).
    """
    if isinstance(env, str):
        env = make_env(env)
    if int(episodes) != episodes or episodes < 1:
        raise ValueError(f"evaluate: episodes must be a positive int, got {episodes!r}")
    returns = np.zeros(int(episodes))
    for i in range(int(episodes)):
        obs, _ = env.reset(seed=int(seed) + i)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
            returns[i] += reward
            done = terminated or truncated
    return float(returns.mean()), float(returns.std())


def check_solved(agent, env, solved, eval_episodes, seed, step, history, log):
    """Early-stopping check of the training loops, in two stages because evaluation costs CPU:
    five greedy episodes first, and only if their mean reaches ``solved`` the full
    ``eval_episodes`` evaluation (seeded ``10_000 + seed``), which is recorded in
    ``history['evaluations']``. Returns True (and sets ``history['solved_at']``) when the full
    evaluation's mean reaches ``solved``."""
    quick, _ = evaluate(agent, env, 5, seed=20_000 + step)
    if log:
        log(f"step {step}: greedy return over 5 episodes {quick:.1f}")
    if quick < solved:
        return False
    mean, std = evaluate(agent, env, eval_episodes, seed=10_000 + seed)
    history["evaluations"].append((step, mean, std))
    if log:
        log(f"step {step}: greedy return over {eval_episodes} episodes {mean:.1f} +- {std:.1f}")
    if mean >= solved:
        history["solved_at"] = step
        return True
    return False


def off_policy_step(env, buffer, obs, action, step, episode_return, history):
    """One environment step of an off-policy loop (DQN, DDPG): the transition goes into
    ``buffer``; when the episode ends, its return and step go into ``history`` and ``env`` is
    reset. Returns (the next observation, the running return, whether an episode ended)."""
    next_obs, reward, terminated, truncated, _ = env.step(action)
    buffer.add(obs, action, reward, next_obs, terminated)
    episode_return += reward
    if not (terminated or truncated):
        return next_obs, episode_return, False
    history["episode_steps"].append(step)
    history["episode_returns"].append(episode_return)
    next_obs, _ = env.reset()
    return next_obs, 0.0, True
