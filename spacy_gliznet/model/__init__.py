"""The torch network and everything it needs, no spaCy: config, encoding, collation, label cache, network, losses, checkpoints."""
