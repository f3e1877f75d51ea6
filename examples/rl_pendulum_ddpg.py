"""DDPG on Pendulum-v1: a deterministic actor and a Q critic with Polyak targets, 20k steps.

64-64 ReLU actor (tanh output scaled to the torque bound 2) and critic, Adam 1e-3 for both,
gamma 0.99, tau 0.005, Gaussian exploration noise 0.1 x the bound (CleanRL's
``ddpg_continuous_action.py``), 1,000 uniformly random warm-up steps, batches of 128. To fit
60 s of CPU, one update every second environment step, each with a critic step, an actor
step and the Polyak target update (CleanRL: a critic step every environment step, the actor
and targets every second one; ``--every-step`` runs that, about 1.5x the CPU). After 20,000
steps the deterministic policy is scored over 100 episodes. Saves the learning curve as PNG
and the agent with ``tinydl.save``.

    python examples/rl_pendulum_ddpg.py [--seed 0] [--steps 20000] [--out DIR] [--fast]
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinydl as td  # noqa: E402
from tinydl.rl import DDPG, GaussianNoise, evaluate, make_env, plot_learning_curve  # noqa: E402
from tinydl.rl import train_ddpg  # noqa: E402

AGENT = dict(hidden=(64, 64), actor_lr=1e-3, critic_lr=1e-3, gamma=0.99, tau=0.005,
             policy_frequency=1)
LOOP = dict(buffer_size=100_000, batch_size=128, learning_starts=1_000, train_frequency=2)
# CleanRL's schedule: a critic step per environment step, actor and targets every second.
EVERY_STEP = (dict(AGENT, policy_frequency=2), dict(LOOP, train_frequency=1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"))
    parser.add_argument("--fast", action="store_true", help="1,500 steps, 3 evaluation episodes")
    parser.add_argument("--every-step", action="store_true",
                        help="CleanRL's update schedule (a critic step every environment step)")
    args = parser.parse_args(argv)
    agent_kw, loop_kw = EVERY_STEP if args.every_step else (AGENT, LOOP)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    steps, episodes = (1_500, 3) if fast else (args.steps, 100)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    td.manual_seed(args.seed)
    env = make_env("Pendulum-v1")
    low, high = env.action_space.low, env.action_space.high
    agent = DDPG(env.observation_space.shape[0], low, high, seed=args.seed, **agent_kw)
    noise = GaussianNoise(agent.action_dim, sigma=0.1, seed=args.seed)
    history = train_ddpg(agent, env, total_steps=steps, seed=args.seed, noise=noise, log=print,
                         **loop_kw)
    start = time.process_time()
    mean, std = evaluate(agent, env, episodes, seed=10_000 + args.seed)
    history["evaluations"].append((steps, mean, std))
    eval_cpu = time.process_time() - start
    print(f"seed {args.seed}: greedy return {mean:.1f} +- {std:.1f} over {episodes} episodes "
          f"after {steps} steps; training {history['cpu_seconds']:.1f} s CPU, evaluation "
          f"{eval_cpu:.1f} s CPU, load average {os.getloadavg()[0]:.2f}")

    plot_learning_curve(history, f"DDPG on Pendulum-v1 (seed {args.seed})",
                        out / "rl_pendulum_ddpg.png", solved=-200)
    td.save(agent.state_dict(), out / "rl_pendulum_ddpg.npz")
    clone = DDPG(env.observation_space.shape[0], low, high, seed=args.seed + 1, **agent_kw)
    clone.load_state_dict(td.load(out / "rl_pendulum_ddpg.npz"))
    probe = np.random.default_rng(0).standard_normal((256, 3)).astype(np.float32)
    same = all(np.array_equal(clone.act(o), agent.act(o)) for o in probe)
    print(f"saved and reloaded {out / 'rl_pendulum_ddpg.npz'}: same actions: {same}")
    return {"mean": mean, "std": std, "cpu_seconds": history["cpu_seconds"],
            "eval_cpu_seconds": eval_cpu, "reload_same": same}


if __name__ == "__main__":
    main()
