"""Zero-shot text classification with the default GliZNet model bundled with
spacy-gliznet (no model name, no download, no training).

    pip install -e .        # or: pip install spacy-gliznet
    python examples/zero_shot_demo.py
"""

import spacy

import spacy_gliznet  # noqa: F401  (registers the factory if not installed)

TEXTS = [
    "The striker scored twice in the second half and the home side won 3-1.",
    "The central bank raised interest rates by half a point to fight inflation.",
    "My new phone's battery dies before lunch, really disappointed.",
    "Can you book me a table for two at an Italian place tonight?",
]
LABELS = ["sports", "business", "technology", "politics", "restaurant booking"]


def main() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"labels": LABELS, "multi_label": False})
    for doc in nlp.pipe(TEXTS):
        best = max(doc.cats, key=doc.cats.get)
        scores = ", ".join(f"{k}={v:.2f}" for k, v in sorted(doc.cats.items(), key=lambda x: -x[1]))
        print(f"{best:>20} | {doc.text}\n{'':>20} | {scores}")
    # Labels can change per call; multi-label scores are independent sigmoids, and
    # doc._.gliznet_predicted_labels holds the labels the decision rule gives the doc.
    doc = nlp("I love this movie, the acting was wonderful!",
              component_cfg={"gliznet_textcat": {"labels": ["positive", "negative", "movie review"],
                                                 "multi_label": True}})
    print({k: round(v, 2) for k, v in doc.cats.items()}, "->", doc._.gliznet_predicted_labels)


if __name__ == "__main__":
    main()
