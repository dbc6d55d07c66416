"""The spans a ``gliznet_textcat`` component scores besides (or instead of) the
whole doc: ``span_source="sents"`` (``doc.sents``) or ``"spans"`` (``doc.spans[spans_key]``)."""

from typing import List

from spacy.tokens import Doc, Span

from ..errors import GliZNetInputError
from ..settings import LongTextSettings


def doc_spans(doc: Doc, settings: LongTextSettings, where: str = "gliznet_textcat") -> List[Span]:
    """The spans of ``doc`` that ``settings.span_source`` names."""
    if settings.span_source == "sents":
        if len(doc) == 0:
            return []
        if not doc.has_annotation("SENT_START"):
            raise GliZNetInputError(
                f"{where}: span_source='sents' needs sentence boundaries, and this doc has none. "
                f"Add a 'sentencizer', 'senter' or 'parser' before {where!r} "
                f"(nlp.add_pipe('sentencizer', before={where!r}))"
            )
        return list(doc.sents)
    if settings.span_source == "spans":
        key = settings.spans_key
        if key not in doc.spans:
            raise GliZNetInputError(
                f"{where}: span_source='spans' reads doc.spans[{key!r}], which this doc does not "
                f"have (its keys: {sorted(doc.spans.keys())}); set spans_key or fill the group "
                f"(an empty group is fine)"
            )
        return [span for span in doc.spans[key] if len(span)]  # an empty span has no text to score
    return []
