"""Results a person can look at: an HTML page of docs with their ``doc.cats`` as bars
and their sentence or span labels highlighted (``python -m spacy_gliznet render``; the
pipe writes those labels to ``doc.spans``: ``annotations.write_span_labels``).

displaCy has no style for ``doc.cats``; the bars are a small HTML table of our own,
the highlighted spans are ``displacy.render(doc, style="span")``.
"""

import html
from typing import Dict, Iterable, List, Optional, Sequence

from spacy import displacy
from spacy.tokens import Doc

from ..settings import DECIDED_SPANS_KEY

# colour-blind-safe, light enough for text on top (Okabe-Ito and Tableau tints)
PALETTE = ["#f4a261", "#8ecae6", "#90be6d", "#f9c74f", "#e5989b", "#b8b8ff", "#84dcc6",
           "#ffafcc", "#cdb4db", "#a3c4f3", "#ffd6a5", "#caffbf"]


def label_colors(labels: Iterable[str]) -> Dict[str, str]:
    """A colour per label, in the order given (the palette repeats after 12)."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(dict.fromkeys(labels))}


def render_cats(doc: Doc, colors: Dict[str, str], top: Optional[int] = 10) -> str:
    """``doc.cats`` as horizontal bars, best first; decided labels in bold."""
    decided = set(doc._.gliznet_predicted_labels or []) if doc.has_extension(
        "gliznet_predicted_labels") else set()
    rows = []
    for label, score in sorted(doc.cats.items(), key=lambda kv: -kv[1])[:top]:
        weight = "bold" if label in decided else "normal"
        rows.append(
            f'<tr><td style="font-weight:{weight};padding-right:8px">{html.escape(label)}</td>'
            f'<td style="width:320px"><div class="gliznet-bar" style="width:{max(score, 0.0) * 100:.1f}%;'
            f'height:14px;background:{html.escape(colors.get(label, "#ccc"))}"></div></td>'
            f'<td style="padding-left:8px">{score:.2f}</td></tr>')
    return '<table class="gliznet-cats" style="font-family:sans-serif;font-size:14px">' + \
        "".join(rows) + "</table>"


def render_spans(doc: Doc, spans_key: str, colors: Dict[str, str]) -> str:
    """displaCy's span style for ``doc.spans[spans_key]``, every user string escaped:
    displaCy escapes the text but writes span labels (and kb ids) as they are, so a
    label such as ``<img src=x onerror=...>`` would run in the browser."""
    parsed = displacy.parse_spans(doc, {"spans_key": spans_key})
    for span in parsed["spans"]:
        span["label"] = html.escape(span["label"])
        span["kb_id"] = html.escape(str(span.get("kb_id") or ""))
        span["kb_url"] = html.escape(str(span.get("kb_url") or "#"))
    escaped = {html.escape(label): html.escape(color) for label, color in colors.items()}
    return displacy.render(parsed, style="span", manual=True, page=False, jupyter=False,
                           options={"colors": escaped})


def render_html(docs: Sequence[Doc], spans_key: str = DECIDED_SPANS_KEY,
                title: str = "gliznet_textcat", colors: Optional[Dict[str, str]] = None) -> str:
    """One HTML page: per doc its cats as bars, and its text with the labels in
    ``doc.spans[spans_key]`` highlighted by displaCy's span style."""
    labels: List[str] = []
    for doc in docs:
        labels.extend(doc.cats)
        if spans_key in doc.spans:
            labels.extend(span.label_ for span in doc.spans[spans_key])
    colors = {**label_colors(labels), **(colors or {})}
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title></head><body style='margin:16px'><h2 style='font-family:sans-serif'>"
             f"{html.escape(title)}</h2>"]
    for i, doc in enumerate(docs):
        parts.append(f"<section class='gliznet-doc'><h3 style='font-family:sans-serif'>"
                     f"Doc {i + 1}</h3>")
        if doc.cats:
            parts.append(render_cats(doc, colors))
        if spans_key in doc.spans and len(doc.spans[spans_key]):
            parts.append(render_spans(doc, spans_key, colors))
        else:
            parts.append(f"<p style='font-family:sans-serif'>{html.escape(doc.text)}</p>")
        parts.append("</section><hr>")
    parts.append("</body></html>")
    return "".join(parts)
