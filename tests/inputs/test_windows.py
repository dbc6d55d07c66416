"""Window planning over model-token budgets and the aggregation of window or span
scores (spacy_gliznet.longtext.windows): pure functions, property-tested."""

import numpy as np
import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.longtext.aggregation import aggregate, resolve_aggregation
from spacy_gliznet.settings import long_text_settings
from spacy_gliznet.longtext.windows import count_tokens, plan_windows, window_overlap, window_pieces

from helpers import WORDS, make_tokenizer


# -- plan_windows --------------------------------------------------------------------
@st.composite
def window_problems(draw):
    budget = draw(st.integers(1, 40))
    counts = draw(st.lists(st.integers(0, budget), max_size=60))
    overlap = draw(st.integers(0, budget - 1))
    n = len(counts)
    boundaries = draw(st.none() | st.sets(st.integers(0, max(n, 1)), max_size=20))
    return counts, budget, overlap, boundaries


def check_windows(windows, counts, budget, overlap):
    n = len(counts)
    if n == 0:
        assert windows == []
        return
    assert windows[0][0] == 0 and windows[-1][1] == n
    covered = set()
    for (a, b) in windows:
        assert 0 <= a < b <= n
        assert sum(counts[a:b]) <= budget
        covered.update(range(a, b))
    assert covered == set(range(n))  # every unit read by some window
    for (a0, b0), (a1, b1) in zip(windows, windows[1:]):
        assert a0 < a1 <= b0 < b1  # progress, no gap
        assert sum(counts[a1:b0]) <= overlap  # never more shared than the overlap
    assert len(windows) <= n


@settings(max_examples=300, deadline=None)
@given(window_problems())
def test_windows_cover_every_unit_within_budget(problem):
    counts, budget, overlap, boundaries = problem
    check_windows(plan_windows(counts, budget, overlap, boundaries), counts, budget, overlap)


@settings(max_examples=150, deadline=None)
@given(st.integers(4, 40).flatmap(lambda b: st.tuples(
    st.just(b), st.lists(st.integers(0, b), min_size=1, max_size=60))))
def test_no_overlap_partitions(problem):
    budget, counts = problem
    windows = plan_windows(counts, budget, 0)
    # windows share no token (at most units with no model tokens, such as spaces)
    assert all(sum(counts[a1:b0]) == 0 for (_, b0), (a1, _) in zip(windows, windows[1:]))
    # greedy: a window ends only where the next unit would not fit
    for a, b in windows[:-1]:
        assert sum(counts[a:b + 1]) > budget


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_windows_cut_at_sentence_starts(data):
    """Sentences of at most a quarter of the budget: every window starts and ends
    at a sentence start, so no sentence is split."""
    budget = data.draw(st.integers(8, 60))
    sentences = data.draw(st.lists(
        st.lists(st.integers(1, budget // 4), min_size=1, max_size=4).filter(
            lambda s: sum(s) <= budget // 4), min_size=1, max_size=25))
    overlap = data.draw(st.integers(0, budget // 4))
    counts, starts = [], []
    for s in sentences:
        starts.append(len(counts))
        counts.extend(s)
    windows = plan_windows(counts, budget, overlap, starts)
    check_windows(windows, counts, budget, overlap)
    cuts = set(starts) | {len(counts)}
    for a, b in windows:
        assert a in cuts and b in cuts


def test_long_sentence_is_split_and_overlap_respected():
    counts = [1] * 100
    windows = plan_windows(counts, 30, 5, boundaries=[0, 90])
    check_windows(windows, counts, 30, 5)
    assert len(windows) >= 4
    assert windows[0] == (0, 30) and windows[1][0] == 25  # 5 units shared


def test_plan_windows_refuses_bad_input():
    with pytest.raises(ValueError, match="each unit must have"):
        plan_windows([3, 11], 10)
    with pytest.raises(ValueError, match="overlap"):
        plan_windows([1, 1], 10, 10)
    with pytest.raises(ValueError, match="budget"):
        plan_windows([1], 0)
    assert plan_windows([], 10, 2) == []


# -- aggregation ---------------------------------------------------------------------
def test_aggregate_max_and_weighted_mean():
    probs = np.array([[0.1, 0.9, 0.5], [0.7, 0.2, 0.5], [0.4, 0.4, 0.0]])
    np.testing.assert_allclose(aggregate(probs, "max"), [0.7, 0.9, 0.5])
    np.testing.assert_allclose(aggregate(probs, "mean"), probs.mean(0))
    w = [2, 1, 1]
    np.testing.assert_allclose(aggregate(probs, "mean", w), (2 * probs[0] + probs[1] + probs[2]) / 4)
    np.testing.assert_allclose(aggregate(probs, "mean", [0, 0, 0]), probs.mean(0))
    np.testing.assert_allclose(aggregate(probs[:1], "mean", [5]), probs[0])
    np.testing.assert_allclose(aggregate(probs[:1], "max"), probs[0])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.data())
def test_aggregate_properties(rows, labels, data):
    logits = np.array(data.draw(st.lists(st.lists(st.floats(-20, 20), min_size=labels, max_size=labels),
                                         min_size=rows, max_size=rows)))
    weights = data.draw(st.lists(st.integers(0, 300), min_size=rows, max_size=rows))
    soft = np.exp(logits - logits.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    mean = aggregate(soft, "mean", weights)
    assert mean.sum() == pytest.approx(1.0, abs=1e-9)  # single-label scores stay a distribution
    assert np.all(mean >= soft.min(0) - 1e-12) and np.all(mean <= soft.max(0) + 1e-12)
    sig = 1 / (1 + np.exp(-logits))
    mx = aggregate(sig, "max")
    assert np.all(mx >= sig - 1e-12) and np.allclose(mx, sig.max(0))
    perm = np.random.default_rng(0).permutation(rows)
    np.testing.assert_allclose(aggregate(soft[perm], "mean", np.array(weights)[perm]), mean, atol=1e-12)


def test_aggregation_names():
    assert resolve_aggregation("auto", True) == "max"
    assert resolve_aggregation("auto", False) == "mean"
    assert resolve_aggregation("mean", True) == "mean"
    with pytest.raises(GliZNetInputError, match="aggregation must be one of"):
        resolve_aggregation("median", True)
    with pytest.raises(ValueError, match="'max' or 'mean'"):
        aggregate(np.ones((2, 2)), "sum")
    with pytest.raises(ValueError, match="non-empty"):
        aggregate(np.ones((0, 2)), "max")
    with pytest.raises(ValueError, match="weights"):
        aggregate(np.ones((2, 2)), "mean", [1, -1])


@pytest.mark.parametrize("bad, message", [
    ({"long_text": "chunks"}, "long_text must be one of 'windows', 'truncate'"),
    ({"window_overlap": -1}, "window_overlap must be null"),
    ({"window_overlap": 2.5}, "window_overlap must be null"),
    ({"window_overlap": True}, "window_overlap must be null"),
    ({"aggregation": "sum"}, "aggregation must be one of"),
    ({"span_source": "paragraphs"}, "span_source must be one of null, 'sents', 'spans'"),
    ({"spans_key": ""}, "spans_key must be a non-empty string"),
    ({"doc_cats": "spans"}, "doc_cats='spans' needs span_source"),
    ({"doc_cats": "all", "span_source": "sents"}, "doc_cats must be one of"),
    ({"long_texts": "windows"}, "unknown setting"),
])
def test_bad_settings_are_refused(bad, message):
    with pytest.raises(GliZNetInputError, match=message):
        long_text_settings("pipe", **bad)


def test_window_overlap_auto_and_limit():
    assert window_overlap(None, 254) == 31 and window_overlap(None, 126) == 15
    assert window_overlap(0, 254) == 0 and window_overlap(127, 254) == 127
    with pytest.raises(GliZNetInputError, match="window_overlap=128 is more than half.*at most 127"):
        window_overlap(128, 254)


# -- windows over real spaCy docs ------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return make_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def nlp_sents():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


words = st.sampled_from(WORDS + ["supercalifragilistic", "x" * 40, "don't", "\n", "  ", "."])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(words, max_size=120), st.integers(8, 40), st.integers(0, 4), st.booleans())
def test_window_pieces_read_every_token(tokenizer, nlp_sents, tokens, budget, overlap, sentences):
    text = " ".join(tokens)
    doc = nlp_sents(text) if sentences else nlp_sents.make_doc(text)
    pieces = window_pieces(doc, tokenizer, budget, overlap)
    assert pieces
    n_total = count_tokens(tokenizer, [doc.text])[0]
    if n_total <= budget:
        assert [(p.start_char, p.end_char) for p in pieces] == [(0, len(doc.text))]
    counts = count_tokens(tokenizer, [doc.text[p.start_char:p.end_char] for p in pieces])
    assert counts == [p.n_tokens for p in pieces]
    assert all(n <= budget for n in counts)  # no window is cut by the encoder
    read = set()
    for p in pieces:
        read.update(range(p.start_char, p.end_char))
    for tok in doc:  # every character of every non-space token is in a window
        if not tok.is_space:
            assert set(range(tok.idx, tok.idx + len(tok.text))) <= read, tok.text


def test_window_pieces_follow_sentences(tokenizer, nlp_sents):
    sentence = "the team won the match and the fans were happy ."
    doc = nlp_sents(" ".join([sentence] * 12))
    n_sent = count_tokens(tokenizer, [sentence])[0]
    pieces = window_pieces(doc, tokenizer, 4 * n_sent, 2)
    assert len(pieces) > 1
    starts = {s.start_char for s in doc.sents}
    ends = {s.end_char for s in doc.sents}
    for p in pieces:
        assert p.start_char in starts and p.end_char in ends


def test_window_pieces_of_a_span(tokenizer, nlp_sents):
    doc = nlp_sents("a short one . " + "the team won the match " * 30 + ". tail .")
    span = doc[4:-3]
    pieces = window_pieces(span, tokenizer, 20, 4)
    assert pieces[0].start_char == span.start_char and pieces[-1].end_char == span.end_char
    assert all(span.start_char <= p.start_char < p.end_char <= span.end_char for p in pieces)


class CountingDoc:
    """A Doc that counts the tokens visited to build its text or iterate it: a step
    that rebuilds the text per window makes the count grow with the square of the text."""

    def __init__(self, doc):
        self._doc = doc
        self.visited = 0

    def __iter__(self):
        self.visited += len(self._doc)
        return iter(self._doc)

    @property
    def text(self):
        self.visited += len(self._doc)
        return self._doc.text

    def __len__(self):
        return len(self._doc)

    def __getattr__(self, name):
        return getattr(self._doc, name)


@pytest.mark.parametrize("sentences", [False, True])
def test_preparing_a_long_doc_visits_each_token_a_bounded_number_of_times(
        tiny_gliznet_dir, nlp_sents, sentences):
    from spacy_gliznet.pipeline.layer import ensure_loaded
    from spacy_gliznet.longtext.planning import plan_scoring

    from helpers import make_nlp

    pipe = make_nlp(tiny_gliznet_dir, labels=["sports"]).get_pipe("gliznet_textcat")
    encoder = ensure_loaded(pipe.model).get_encoder()
    text = " ".join(["the team won the match ."] * 400 + ["x" * 5000])  # 2,400 tokens + one blob
    doc = CountingDoc(nlp_sents(text) if sentences else nlp_sents.make_doc(text))
    plan = plan_scoring([doc], [[("sports", "sports")]], long_text_settings(), encoder)
    assert len(plan.inputs) > 20  # many windows
    assert doc.visited <= 3 * len(doc), (doc.visited, len(doc), len(plan.inputs))
    read = "".join(t for t, _ in plan.inputs)
    assert "x" * 100 in read and read.count("match") >= 400  # the pieces are the doc's text
