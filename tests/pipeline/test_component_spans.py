"""gliznet_textcat on long docs (windows vs truncate) and on spans (sentences,
doc.spans groups): scores, batching, settings and serialization."""

import warnings

import numpy as np
import pytest
import spacy
from spacy.tokens import DocBin

from spacy_gliznet.errors import GliZNetInputError, TruncationWarning
from spacy_gliznet.pipeline.layer import ensure_loaded
from spacy_gliznet.longtext.windows import window_overlap, window_pieces

from helpers import make_nlp

LABELS = ["sports", "politics", "food"]
NLP = {"labels": LABELS, "sentencizer": True}
SENTENCE = "the team won the match and the fans were happy ."
LONG = " ".join([SENTENCE] * 10 + ["pasta cooking is good and the food is hot ."] * 3)


def spans_nlp(name, sentencizer=False, **cfg):
    return make_nlp(name, sentencizer=sentencizer, **{"labels": LABELS, **cfg})




@pytest.fixture(scope="module")
def plain(tiny_gliznet_dir):
    """No sentencizer, truncate policy: scores a text as its own doc."""
    return spans_nlp(tiny_gliznet_dir, long_text="truncate")


def cats(doc, labels=LABELS):
    return np.array([doc.cats[k] for k in labels])


def own_doc_scores(plain, text, labels=LABELS, multi_label=True):
    doc = plain(text, component_cfg={"gliznet_textcat": {"labels": labels, "multi_label": multi_label}})
    assert doc._.gliznet_truncated is False
    return cats(doc, labels)


def encoder(nlp):
    return ensure_loaded(nlp.get_pipe("gliznet_textcat").model).get_encoder()


# -- long docs -------------------------------------------------------------------------
@pytest.mark.parametrize("multi_label", [True, False])
def test_windows_read_the_whole_doc(nlp, plain, multi_label):
    enc = encoder(nlp)
    cfg = {"gliznet_textcat": {"multi_label": multi_label}}
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)  # nothing is cut
        doc = nlp(LONG, component_cfg=cfg)
    assert doc._.gliznet_truncated is False
    window = enc.max_length - 2
    pieces = window_pieces(doc, enc.tokenizer, window, window_overlap(None, window))
    assert doc._.gliznet_windows == len(pieces) > 1
    # the doc's scores are the aggregate of each window scored as its own doc
    rows = np.stack([own_doc_scores(plain, doc.text[p.start_char:p.end_char], multi_label=multi_label)
                     for p in pieces])
    read = set().union(*(range(p.start_char, p.end_char) for p in pieces))
    assert all(t.idx in read for t in doc if not t.is_space)  # every token in some window
    weights = [p.n_tokens for p in pieces]
    expected = rows.max(0) if multi_label else np.average(rows, axis=0, weights=weights)
    np.testing.assert_allclose(cats(doc), expected, atol=1e-5)
    if not multi_label:
        assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-6)
    # per-call aggregation
    doc2 = nlp(LONG, component_cfg={"gliznet_textcat": {"multi_label": multi_label, "aggregation": "mean"}})
    np.testing.assert_allclose(cats(doc2), np.average(rows, axis=0, weights=weights), atol=1e-5)


def test_very_long_doc_every_token_read_every_label_scored(nlp):
    text = "game " * 20_000
    labels = LABELS + ["music"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        doc = nlp(text, component_cfg={"gliznet_textcat": {"labels": labels}})
    assert list(doc.cats) == labels and doc._.gliznet_truncated is False
    window = encoder(nlp).max_length - 2
    assert doc._.gliznet_windows >= 20_000 // window


def test_truncate_policy_cuts_flags_and_warns(nlp, plain):
    with pytest.warns(TruncationWarning):
        doc = nlp(LONG, component_cfg={"gliznet_textcat": {"long_text": "truncate"}})
    assert doc._.gliznet_truncated is True and doc._.gliznet_windows == 1
    with pytest.warns(TruncationWarning):
        same = plain(LONG)
    np.testing.assert_allclose(cats(doc), cats(same), atol=1e-6)


def test_short_docs_score_the_same_under_both_policies(nlp, plain):
    doc = nlp(SENTENCE)
    assert doc._.gliznet_windows == 1 and doc._.gliznet_truncated is False
    np.testing.assert_allclose(cats(doc), cats(plain(SENTENCE)), atol=1e-6)


def test_empty_and_one_sentence_docs(tiny_gliznet_dir, plain):
    nlp = spans_nlp(tiny_gliznet_dir, sentencizer=True, span_source="sents")
    empty = nlp("")
    assert set(empty.cats) == set(LABELS) and empty._.gliznet_windows == 1
    np.testing.assert_allclose(cats(empty), cats(plain("")), atol=1e-6)
    one = nlp(SENTENCE)
    (sent,) = list(one.sents)
    np.testing.assert_allclose([sent._.gliznet_cats[k] for k in LABELS], cats(one), atol=1e-5)
    # doc cats from spans: an empty doc (no sentences) is scored whole
    by_spans = nlp("", component_cfg={"gliznet_textcat": {"doc_cats": "spans"}})
    np.testing.assert_allclose(cats(by_spans), cats(empty), atol=1e-6)


# -- spans -----------------------------------------------------------------------------
TEXT = ("the team won the match . parliament and politics news today . "
        "pasta cooking is good . the weather is cold and rain .")


def test_sentence_scores_equal_scoring_each_sentence_alone(tiny_gliznet_dir, plain):
    nlp = spans_nlp(tiny_gliznet_dir, sentencizer=True, span_source="sents")
    doc = nlp(TEXT)
    sents = list(doc.sents)
    assert len(sents) == 4
    for s in sents:
        np.testing.assert_allclose([s._.gliznet_cats[k] for k in LABELS], own_doc_scores(plain, s.text),
                                   atol=1e-5)
    np.testing.assert_allclose(cats(doc), own_doc_scores(plain, TEXT), atol=1e-5)  # doc_cats="doc"


@pytest.mark.parametrize("multi_label", [True, False])
def test_doc_cats_aggregated_from_spans(tiny_gliznet_dir, plain, multi_label):
    nlp = spans_nlp(tiny_gliznet_dir, sentencizer=True, span_source="sents", doc_cats="spans",
                   multi_label=multi_label)
    doc = nlp(TEXT)
    rows = np.stack([[s._.gliznet_cats[k] for k in LABELS] for s in doc.sents])
    sizes = [len(encoder(nlp).tokenizer(s.text, add_special_tokens=False)["input_ids"]) for s in doc.sents]
    expected = rows.max(0) if multi_label else np.average(rows, axis=0, weights=sizes)
    np.testing.assert_allclose(cats(doc), expected, atol=1e-6)
    none = nlp(TEXT, component_cfg={"gliznet_textcat": {"doc_cats": "none"}})
    assert none.cats == {} and all(s._.gliznet_cats for s in none.sents)


def test_spans_key_with_call_and_doc_labels(tiny_gliznet_dir, plain):
    nlp = spans_nlp(tiny_gliznet_dir, span_source="spans", spans_key="parts", doc_cats="none")
    doc = nlp.make_doc(TEXT)
    doc.spans["parts"] = [doc[0:5], doc[6:12], doc[3:8], doc[2:2]]  # overlapping and empty spans
    labels = ["music", "news"]
    out = nlp.get_pipe("gliznet_textcat")(doc, labels=labels)
    assert out.spans["parts"][3]._.gliznet_cats is None  # an empty span has no text to score
    for s in list(out.spans["parts"])[:3]:
        assert list(s._.gliznet_cats) == labels
        np.testing.assert_allclose([s._.gliznet_cats[k] for k in labels], own_doc_scores(plain, s.text, labels),
                                   atol=1e-5)
    doc = nlp.make_doc(TEXT)
    doc.spans["parts"] = [doc[0:5]]
    doc._.gliznet_labels = {"animal": "cat and dog"}
    (out,) = nlp.pipe([doc])
    assert out.spans["parts"][0]._.gliznet_cats.keys() == {"animal"}
    # an empty group is fine; a missing one is an error naming the key
    doc = nlp.make_doc(TEXT)
    doc.spans["parts"] = []
    assert nlp(doc).cats == {}
    with pytest.raises(GliZNetInputError, match=r"doc.spans\['parts'\]"):
        nlp(TEXT)


def test_pipe_batches_spans_of_many_docs_like_one_by_one(tiny_gliznet_dir):
    nlp = spans_nlp(tiny_gliznet_dir, sentencizer=True, span_source="sents")
    texts = [TEXT, LONG, "", SENTENCE, TEXT + " " + LONG]
    batched = list(nlp.pipe(texts, batch_size=8))
    for text, b in zip(texts, batched):
        one = nlp(text)
        np.testing.assert_allclose(cats(b), cats(one), atol=1e-5)
        assert b._.gliznet_windows == one._.gliznet_windows
        for s1, s2 in zip(b.sents, one.sents) if len(one) else []:
            np.testing.assert_allclose([s1._.gliznet_cats[k] for k in LABELS],
                                       [s2._.gliznet_cats[k] for k in LABELS], atol=1e-5)


def test_sents_without_sentence_boundaries_is_a_clear_error(tiny_gliznet_dir):
    nlp = spans_nlp(tiny_gliznet_dir, span_source="sents")
    with pytest.raises(GliZNetInputError, match="sentencizer"):
        nlp(TEXT)


# -- settings --------------------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    ({"long_text": "chunk"}, "long_text must be one of"),
    ({"window_overlap": -3}, "window_overlap must be"),
    ({"window_overlap": "32"}, "window_overlap must be"),
    ({"aggregation": "median"}, "aggregation must be one of"),
    ({"span_source": "paragraphs"}, "span_source must be one of"),
    ({"doc_cats": "spans"}, "needs span_source"),
])
def test_bad_settings_refused_at_construction(tiny_gliznet_dir, bad, message):
    with pytest.raises(GliZNetInputError, match=message):
        spans_nlp(tiny_gliznet_dir, **bad)


def test_bad_settings_refused_per_call(nlp):
    with pytest.raises(GliZNetInputError, match="window_overlap=100 is more than half"):
        nlp(LONG, component_cfg={"gliznet_textcat": {"window_overlap": 100}})
    with pytest.raises(GliZNetInputError, match="unknown setting"):
        nlp(LONG, component_cfg={"gliznet_textcat": {"long_texts": "windows"}})


def test_settings_and_span_scores_survive_disk_and_docbin(tiny_gliznet_dir, tmp_path):
    nlp = spans_nlp(tiny_gliznet_dir, sentencizer=True, span_source="sents", window_overlap=16,
                   aggregation="mean")
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    pipe = loaded.get_pipe("gliznet_textcat")
    assert pipe.cfg["span_source"] == "sents" and pipe.cfg["window_overlap"] == 16
    assert pipe.cfg["aggregation"] == "mean" and pipe.cfg["long_text"] == "windows"
    doc = loaded(TEXT + " " + LONG)
    np.testing.assert_allclose(cats(doc), cats(nlp(TEXT + " " + LONG)), atol=1e-5)
    # a load-time setting wins over the saved one (runtime setting)
    override = spacy.load(tmp_path / "p", config={"components": {"gliznet_textcat": {"long_text": "truncate"}}})
    assert override.get_pipe("gliznet_textcat").cfg["long_text"] == "truncate"
    # span scores travel with the doc through DocBin (user data)
    db = DocBin(store_user_data=True, docs=[doc])
    (back,) = DocBin().from_bytes(db.to_bytes()).get_docs(loaded.vocab)
    assert [s._.gliznet_cats for s in back.sents] == [s._.gliznet_cats for s in doc.sents]
    assert back.cats == doc.cats and back._.gliznet_windows == doc._.gliznet_windows


def test_training_on_a_long_text_warns_once_that_it_reads_the_first_window(tiny_gliznet_dir):
    from spacy.training import Example

    nlp = spans_nlp(tiny_gliznet_dir)
    pipe = nlp.get_pipe("gliznet_textcat")
    eg = Example.from_dict(nlp.make_doc(LONG), {"cats": {"sports": 1.0, "food": 1.0, "politics": 0.0}})
    nlp.initialize(lambda: [eg])
    with pytest.warns(TruncationWarning, match="training reads the first"):
        pipe.update([eg], sgd=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.update([eg], sgd=None)  # once per pipe


@pytest.mark.parametrize("aggregation", ["max", "mean"])
def test_zero_length_spans_are_not_scored_and_do_not_count(tiny_gliznet_dir, plain, aggregation):
    """A zero-length span used to give the doc the empty string's scores."""
    nlp = spans_nlp(tiny_gliznet_dir, span_source="spans", doc_cats="spans", aggregation=aggregation)
    text = "the team won the match"
    doc = nlp.make_doc(text)
    doc.spans["sc"] = [doc[2:2]]  # only an empty span: the doc is scored whole
    doc = nlp(doc)
    np.testing.assert_allclose(cats(doc), own_doc_scores(plain, text), atol=1e-6)
    assert doc.spans["sc"][0]._.gliznet_cats is None
    doc = nlp.make_doc(text + " . pasta cooking")
    doc.spans["sc"] = [doc[0:5], doc[5:5], doc[6:8]]
    doc = nlp(doc)
    spans = [doc.spans["sc"][0], doc.spans["sc"][2]]
    want = np.stack([own_doc_scores(plain, s.text) for s in spans])
    want = want.max(0) if aggregation == "max" else \
        (want * np.array([[len(s)] for s in spans])).sum(0) / sum(len(s) for s in spans)
    np.testing.assert_allclose(cats(doc), want, atol=1e-5)
    assert doc.spans["sc"][1]._.gliznet_cats is None


def test_runs_the_tokenizer_reads_as_unknown_are_reported(nlp):
    """Two different 50k-character blobs got identical scores and no word about it."""
    blobs = ["ab" * 25_000, "cd" * 25_000]
    with pytest.warns(UserWarning, match=r"1 text\(s\) hold 50000 characters .*one unknown token"):
        first = nlp(blobs[0])
    with pytest.warns(UserWarning, match="unknown token"):
        list(nlp.pipe(["the match " + blobs[1]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nlp("the team won " + "x" * 100)  # 100 characters: still read
    assert set(first.cats) == set(LABELS)
