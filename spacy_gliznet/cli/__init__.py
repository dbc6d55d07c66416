"""Command-line tools: one module per command of ``python -m spacy_gliznet``, each
registering itself the same way (``add_parser(subparsers)`` and ``run(args)``;
``spacy_gliznet/__main__.py`` lists them in ``COMMANDS``). No command imports another;
what they share is in ``_common.py``.

- ``benchmark.py``: zero-shot macro-F1 per dataset, beside an embedding baseline;
- ``calibrate.py``: fit a checkpoint's temperature and score offset on labelled data;
- ``convert.py``: JSONL + manifest folder to .spacy (or one split to JSONL);
- ``init_model.py`` (``init-model``): a GliZNet start checkpoint from a bare backbone;
- ``export.py``: the GliZNet checkpoint of a trained pipeline;
- ``interpolate.py``: weight-space interpolation of a start and a fine-tune;
- ``find_thresholds.py`` (``find-thresholds``): per-label thresholds tuned on dev data;
- ``adapt.py``: self-training of a pipeline on unlabeled in-domain texts;
- ``init_config.py`` (``init-config``): a complete, commented training config;
- ``label_report.py`` (``label-report``): positives per label in training data;
- ``render.py``: per-doc cats as bars and per-sentence labels as displaCy spans, in HTML;
- ``_common.py`` (private): the registration pattern, the user errors reported in one
  line, loading a pipeline or the default, label lists, ``--dtype`` and ``--gpu-id``.
"""
