"""tinydl.vision.models: small networks to train on the bundled and synthetic data."""
