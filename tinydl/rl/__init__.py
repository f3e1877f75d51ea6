"""tinydl.rl: reinforcement learning on tinydl's autograd (Gymnasium through the ``rl`` extra)."""
