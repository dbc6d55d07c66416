"""Command-line tools, one module per command of ``python -m spacy_gliznet``
(the parser is in ``spacy_gliznet/__main__.py``):

- ``benchmark``: zero-shot macro-F1 per dataset, beside an embedding baseline;
- ``calibrate``: fit a checkpoint's temperature and score offset on labelled data;
- ``convert``: JSONL + manifest folder to .spacy (or one split to JSONL);
- ``init-model`` (init_model.py): a GliZNet start checkpoint from a bare backbone;
- ``export``: the GliZNet checkpoint of a trained pipeline;
- ``interpolate``: weight-space interpolation of a start and a fine-tune;
- ``find-thresholds`` (find_thresholds.py): per-label thresholds tuned on dev data;
- ``adapt``: self-training of a pipeline on unlabeled in-domain texts;
- ``init-config`` (init_config.py): a complete, commented training config;
- ``label-report`` (label_report.py): positives per label in training data;
- ``render``: per-doc cats as bars and per-sentence labels as displaCy spans, in HTML
  (``workflow.py`` adds these three to the parser).
"""
