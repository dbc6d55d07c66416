"""Training data: corpus readers and the label report."""
