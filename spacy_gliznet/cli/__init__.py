"""Command-line tools: ``python -m spacy_gliznet benchmark|convert|init-model``."""
