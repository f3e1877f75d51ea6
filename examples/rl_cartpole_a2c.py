"""A2C (synchronous advantage actor-critic) on CartPole-v1 through Gymnasium's vector API.

Eight CartPole environments step in lockstep; every 5 steps the 40 transitions give 5-step
returns bootstrapped from the critic and one RMSprop step on policy loss + 0.5 value loss
(Stable-Baselines3's A2C defaults, 64-64 tanh actor and critic). The budget is 500,000
environment steps; training stops once the greedy policy averages at least 475 over 100
episodes. Saves the learning curve as PNG and the agent with ``tinydl.save``.

    python examples/rl_cartpole_a2c.py [--seed 0] [--steps 500000] [--out DIR] [--fast]
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinydl as td  # noqa: E402
from tinydl.rl import (A2C, evaluate, make_env, make_vector_env, plot_learning_curve,  # noqa: E402
                       train_a2c)

AGENT = dict(hidden=(64, 64), lr=7e-4, gamma=0.99, n_steps=5, vf_coef=0.5, ent_coef=0.0,
             max_grad_norm=0.5)
NUM_ENVS = 8


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"))
    parser.add_argument("--fast", action="store_true", help="8,000 steps, 10 evaluation episodes")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    steps, episodes = (8_000, 10) if fast else (args.steps, 100)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    td.manual_seed(args.seed)
    envs = make_vector_env("CartPole-v1", NUM_ENVS)
    eval_env = make_env("CartPole-v1")
    agent = A2C(4, 2, seed=args.seed, **AGENT)
    history = train_a2c(agent, envs, total_steps=steps, seed=args.seed,
                        solved=None if fast else 475.0, eval_env=eval_env,
                        eval_episodes=episodes, log=print)
    start = time.process_time()
    # The reported score comes from start states the training never saw: the stopping check
    # evaluates on seeds 10_000 + seed and stops the first time they reach 475, so that
    # evaluation is the best of several looks, biased upwards.
    mean, std = evaluate(agent, eval_env, episodes, seed=30_000 + args.seed)
    if history["solved_at"] is None:
        history["evaluations"].append((history["steps"], mean, std))
    cpu = history["cpu_seconds"] + time.process_time() - start
    stopped = (f"solved: {history['evaluations'][-1][1]:.1f} at the stopping check"
               if history["solved_at"] else "not solved")
    print(f"seed {args.seed}: greedy return {mean:.1f} +- {std:.1f} over {episodes} fresh "
          f"episodes after {history['steps']} steps ({stopped}), {cpu:.1f} s CPU, load "
          f"average {os.getloadavg()[0]:.2f}")

    plot_learning_curve(history, f"A2C on CartPole-v1, {NUM_ENVS} envs (seed {args.seed})",
                        out / "rl_cartpole_a2c.png", solved=475)
    td.save(agent.state_dict(), out / "rl_cartpole_a2c.npz")
    clone = A2C(4, 2, seed=args.seed + 1, **AGENT)
    clone.load_state_dict(td.load(out / "rl_cartpole_a2c.npz"))
    probe = np.random.default_rng(0).standard_normal((256, 4)).astype(np.float32)
    same = all(clone.act(o) == agent.act(o) for o in probe)
    print(f"saved and reloaded {out / 'rl_cartpole_a2c.npz'}: same greedy actions: {same}")
    return {"mean": mean, "std": std, "steps": history["steps"], "cpu_seconds": cpu,
            "solved_at": history["solved_at"], "reload_same": same}


if __name__ == "__main__":
    main()
