"""tinydl.viz: looking inside a model (autograd graph drawing, gradient flow, loss landscapes)."""
