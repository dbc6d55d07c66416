"""Seconds to prepare (windows.plan_scoring) and to classify (nlp(doc)) one long text.

The pipeline of evaluate.py (``spacy.blank("en")`` + ``sentencizer`` + ``gliznet_textcat``
with the bundled model, 4 labels); the text: benchmark texts of ../shared/data/benchmark
(ag_news, then imdb, then newsgroups) joined until it reaches the size asked for.

    python examples/benchmarks/long_docs/prep_timing.py --sizes 100000 1000000
    python examples/benchmarks/long_docs/prep_timing.py --sizes 1000000 --prepare-only
"""

import argparse
import json
import os
import time
import warnings
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "benchmark"
LABELS = ["sports", "politics", "business", "technology"]


def long_text(folder: Path, size: int) -> str:
    parts, total = [], 0
    for name in ("ag_news", "imdb", "newsgroups"):
        with open(folder / f"{name}.jsonl", encoding="utf8") as f:
            for line in f:
                text = json.loads(line)["text"].strip()
                parts.append(text)
                total += len(text) + 1
                if total >= size:
                    return " ".join(parts)[:size]
    return (" ".join(parts) * (size // max(total, 1) + 1))[:size]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--prepare-only", action="store_true", help="time plan_scoring only")
    args = p.parse_args(argv)
    import spacy
    import torch

    import spacy_gliznet  # noqa: F401
    from spacy_gliznet.pipeline.layer import ensure_loaded
    from spacy_gliznet.longtext.planning import plan_scoring
    from spacy_gliznet.settings import long_text_settings

    warnings.simplefilter("ignore")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("gliznet_textcat", config={"labels": LABELS})
    pipe = nlp.get_pipe("gliznet_textcat")
    encoder = ensure_loaded(pipe.model).get_encoder()
    nlp("warm up")
    print(f"load (1, 5, 15 min): {os.getloadavg()}, torch threads {torch.get_num_threads()}")
    for size in args.sizes:
        text = long_text(args.data, size)
        doc = nlp.get_pipe("sentencizer")(nlp.make_doc(text))
        start = time.perf_counter()
        plan = plan_scoring([doc], [[(k, k) for k in LABELS]], long_text_settings(), encoder)
        prepare = time.perf_counter() - start
        row = {"chars": len(text), "spacy_tokens": len(doc), "windows": len(plan.inputs),
               "prepare_s": round(prepare, 2)}
        if not args.prepare_only:
            start = time.perf_counter()
            nlp(text)
            row["nlp_s"] = round(time.perf_counter() - start, 1)
        row["load_1min"] = round(os.getloadavg()[0], 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
