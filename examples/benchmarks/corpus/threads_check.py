"""In-process nlp.pipe docs/s with 2 and 1 torch threads, alternating rounds.

Same texts and labels as scale_benchmark.py (its first 256 texts), bundled model:

    python examples/benchmarks/corpus/threads_check.py
"""

import sys
import time
import warnings
from pathlib import Path

import spacy
import torch

import spacy_gliznet  # noqa: F401
from spacy_gliznet.errors import TruncationWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_benchmark import DEFAULT_DATA, load_sample  # noqa: E402

warnings.simplefilter("ignore", TruncationWarning)
texts, labels = load_sample(DEFAULT_DATA, 2000, 16, 0)
texts = texts[:256]
nlp = spacy.blank("en")
nlp.add_pipe("gliznet_textcat", config={"labels": labels})
nlp.initialize()
list(nlp.pipe(texts[:64], batch_size=64))  # warm-up
for rnd in range(2):
    for threads in (2, 1):
        torch.set_num_threads(threads)
        start = time.perf_counter()
        list(nlp.pipe(texts, batch_size=64))
        print(f"round {rnd} threads {threads}: {len(texts) / (time.perf_counter() - start):.1f} docs/s", flush=True)
