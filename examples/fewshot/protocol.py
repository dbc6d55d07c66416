"""The few-shot protocol of examples/fewshot (standard library only, so the SetFit venv
reads the same draw): test rows, seeded k-shot examples, what each method is given.

- Rows are a set's JSONL lines in file order; **test** = rows 0 .. TEST_ROWS - 1.
- **Examples** (k per label): one ``random.Random(seed)``; for each label in the
  manifest's order, the rows >= TEST_ROWS that carry it, in file order, and
  ``rng.sample(those, k)`` of them (all of them, without advancing the rng, where a
  label has fewer than k). A drawn row keeps all its gold labels (multi-label). This
  is the draw of /work/setfit_lab/fewshot_protocol.py, extended to multi-label sets.
- A label's example texts are the drawn texts that carry it, in draw order, each text
  once (labels validate their examples: no duplicates). The seeds for fine-tuning
  and SetFit's training set are the drawn rows, each text once.
"""

import random
from typing import Dict, List, Sequence

TEST_ROWS = 300


def draw_rows(rows: Sequence[dict], labels: Sequence[str], k: int, seed: int = 0,
              test_rows: int = TEST_ROWS) -> List[List[int]]:
    """Per label (in ``labels`` order), the row indices drawn for it."""
    rng = random.Random(seed)
    out = []
    for label in labels:
        cands = [i for i in range(test_rows, len(rows)) if label in rows[i]["labels"]]
        out.append(cands if len(cands) < k else rng.sample(cands, k))
    return out


def label_examples(rows: Sequence[dict], labels: Sequence[str], drawn: List[List[int]]
                   ) -> Dict[str, List[str]]:
    """Each label's example texts: the drawn texts that carry it, each once."""
    out: Dict[str, Dict[str, None]] = {label: {} for label in labels}
    for picked in drawn:
        for i in picked:
            for label in rows[i]["labels"]:
                if label in out:
                    out[label][rows[i]["text"]] = None
    return {label: list(texts) for label, texts in out.items() if texts}


def seeds(rows: Sequence[dict], labels: Sequence[str], drawn: List[List[int]]) -> List[dict]:
    """The drawn rows as ``{"text", "labels", "label"}`` (``label``: the label it was
    drawn for first, SetFit's single-label target), each text once, in draw order."""
    out: Dict[str, dict] = {}
    for label, picked in zip(labels, drawn):
        for i in picked:
            text = rows[i]["text"]
            if text not in out:
                out[text] = {"text": text, "labels": [g for g in rows[i]["labels"] if g in labels],
                             "label": label}
    return list(out.values())
