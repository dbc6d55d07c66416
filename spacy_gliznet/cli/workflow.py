"""The spaCy-workflow commands of ``python -m spacy_gliznet``: ``init-config``,
``label-report`` and ``render``; each module adds its parser and its runner."""


def add_parsers(sub) -> None:
    from .init_config import add_parser as add_init_config
    from .label_report import add_parser as add_label_report
    from .render import add_parser as add_render

    add_init_config(sub)
    add_label_report(sub)
    add_render(sub)
