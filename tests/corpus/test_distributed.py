"""spacy_gliznet.scale.distributed: the Ray Data stateful-actor helper."""

import sys

import numpy as np
import pytest
import spacy

import spacy_gliznet  # noqa: F401
from spacy_gliznet.scale.distributed import (
    GliZNetBatchClassifier,
    check_num_gpus,
    classify_dataset,
    find_component,
    require_ray,
)
from spacy_gliznet.errors import GliZNetInputError, GliZNetLoadError

import helpers
from helpers import ROOT, load_script

LABELS = ["sports", "politics", "food"]
WORDS = "the team won the match goal bank money price pasta food hot cold music song film news".split()


def make_texts(n, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 12)))) for _ in range(n)]


@pytest.fixture(scope="module")
def pipeline_dir(tiny_gliznet_dir, tmp_path_factory):
    return helpers.saved_pipeline(tiny_gliznet_dir, LABELS, tmp_path_factory.mktemp("distributed_pipeline"))


@pytest.fixture(scope="module")
def classifier(pipeline_dir):
    return GliZNetBatchClassifier(str(pipeline_dir), batch_size=8)


def reference(pipeline_dir, texts, **cfg):
    nlp = spacy.load(pipeline_dir)
    return list(nlp.pipe(texts, component_cfg={"gliznet_textcat": cfg} if cfg else None))


def test_numpy_batch_matches_nlp_pipe(classifier, pipeline_dir):
    texts = make_texts(20)
    batch = {"id": np.arange(20), "text": np.array(texts, dtype=object)}
    out = classifier(batch)
    assert list(out) == ["id", "text", "score_sports", "score_politics", "score_food",
                         "top_label", "top_score", "truncated"]
    assert (out["id"] == np.arange(20)).all()
    for i, doc in enumerate(reference(pipeline_dir, texts)):
        for label in LABELS:
            assert abs(out[f"score_{label}"][i] - doc.cats[label]) <= 1e-5
        assert out["top_label"][i] == max(LABELS, key=lambda k: doc.cats[k])
        assert abs(out["top_score"][i] - max(doc.cats.values())) <= 1e-5
        assert out["truncated"][i] == bool(doc._.gliznet_truncated)
    empty = classifier({"text": np.array([], dtype=object)})
    assert all(len(v) == 0 for v in empty.values()) and "score_food" in empty


def through_ray(classifier, block):
    """``classifier`` on ``block`` as Ray Data's map_batches runs it: the block in the
    classifier's batch format, the result back to a block."""
    from ray.data.block import BlockAccessor

    from spacy_gliznet.scale.distributed import BATCH_FORMAT

    batch = BlockAccessor.for_block(block).to_batch_format(BATCH_FORMAT)
    return BlockAccessor.batch_to_block(classifier(batch))


def test_pandas_and_arrow_blocks(classifier):
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("ray")
    texts = make_texts(6, seed=1)
    as_numpy = classifier({"text": np.array(texts, dtype=object)})
    df = through_ray(classifier, pd.DataFrame({"text": texts, "n": range(6)}))
    table = through_ray(classifier, pa.table({"text": texts}))
    assert list(df["n"].to_pylist()) == list(range(6))
    for out in (df.to_pandas(), table.to_pandas()):
        np.testing.assert_allclose(out["score_food"].to_numpy(), as_numpy["score_food"], atol=1e-6)
        assert list(out["top_label"]) == list(as_numpy["top_label"])


def test_labels_and_multi_label_overrides(pipeline_dir):
    labels = {"games": "sports and games", "cuisine": "food"}
    clf = GliZNetBatchClassifier(pipeline_dir, labels=labels, multi_label=False, score_prefix="p_")
    texts = make_texts(5, seed=2)
    out = clf({"text": np.array(texts, dtype=object)})
    assert clf.score_columns == ["p_games", "p_cuisine"]
    ref = reference(pipeline_dir, texts, labels=labels, multi_label=False)
    for i, doc in enumerate(ref):
        assert abs(out["p_games"][i] - doc.cats["games"]) <= 1e-5
        assert abs(out["p_games"][i] + out["p_cuisine"][i] - 1.0) <= 1e-5  # softmax


def test_quantized_cpu_actor(pipeline_dir):
    texts = make_texts(8, seed=4)
    out = GliZNetBatchClassifier(pipeline_dir, quantize=True)({"text": np.array(texts, dtype=object)})
    for i, doc in enumerate(reference(pipeline_dir, texts)):  # int8: close, not equal
        assert abs(out["score_food"][i] - doc.cats["food"]) <= 0.05


def test_checkpoint_directory_needs_labels(tiny_gliznet_dir):
    with pytest.raises(GliZNetInputError, match="labels are needed"):
        GliZNetBatchClassifier(tiny_gliznet_dir)
    clf = GliZNetBatchClassifier(tiny_gliznet_dir, labels=["a b", "c"])
    out = clf({"text": np.array(["the match"], dtype=object)})
    assert set(out) >= {"score_a b", "score_c", "top_label"}


def test_bad_input_is_named(classifier, pipeline_dir, tmp_path):
    with pytest.raises(GliZNetInputError, match="no text column 'text'.*'body'"):
        classifier({"body": np.array(["x"], dtype=object)})
    with pytest.raises(GliZNetInputError, match="row 1 .*must hold strings.*NoneType"):
        classifier({"text": np.array(["x", None], dtype=object)})
    with pytest.raises(GliZNetInputError, match="already has the output column.*top_label"):
        classifier({"text": np.array(["x"], dtype=object), "top_label": np.array(["y"])})
    with pytest.raises(GliZNetInputError, match="dict of columns"):
        classifier(["x"])
    for bad in (-1, "1", True, float("nan"), None):
        with pytest.raises(GliZNetInputError, match="num_gpus must be a number >= 0"):
            GliZNetBatchClassifier(pipeline_dir, num_gpus=bad)
    assert check_num_gpus(0.5) == 0.5
    with pytest.raises(GliZNetInputError, match="mixed_precision=True needs a GPU"):
        GliZNetBatchClassifier(pipeline_dir, mixed_precision=True)
    for kwargs, match in (({"labels": []}, "labels is empty"), ({"labels": "sports"}, "not a single string"),
                          ({"labels": ["a", "a"]}, "Duplicate label"), ({"batch_size": 0}, "batch_size"),
                          ({"multi_label": "yes"}, "multi_label"),
                          ({"quantize": True, "num_gpus": 1}, "quantize=True is for CPU")):
        with pytest.raises(GliZNetInputError, match=match):
            GliZNetBatchClassifier(pipeline_dir, **kwargs)
    with pytest.raises(GliZNetLoadError, match="no gliznet_textcat component named 'other'"):
        GliZNetBatchClassifier(pipeline_dir, component="other")
    config = spacy.util.load_config(pipeline_dir / "config.cfg")
    assert find_component(config, None, "x") == "gliznet_textcat"
    plain = tmp_path / "file.txt"
    plain.write_text("x")
    with pytest.raises(GliZNetLoadError, match="got the file"):
        GliZNetBatchClassifier(plain, labels=["a"])


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU message")
def test_gpu_actor_without_gpu_says_so(pipeline_dir):
    with pytest.raises(RuntimeError, match="sees no CUDA device"):
        GliZNetBatchClassifier(pipeline_dir, num_gpus=1)


def test_missing_ray_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"spacy-gliznet\[ray\]"):
        require_ray()
    with pytest.raises(ImportError, match=r"spacy-gliznet\[ray\]"):
        classify_dataset(object(), labels=["a"])


@pytest.mark.slow
def test_ray_data_two_actors_same_as_nlp_pipe(pipeline_dir, tmp_path):
    """A local 2-CPU Ray cluster, 2 actors: every row once, scores as nlp.pipe."""
    ray = pytest.importorskip("ray")
    import ray.data

    n = 300
    texts = make_texts(n, seed=3)
    expected = reference(pipeline_dir, texts)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}})
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)],
                                 override_num_blocks=6)
        with pytest.raises(GliZNetInputError, match="num_gpus"):
            classify_dataset(ds, pipeline_dir, num_gpus=-1)
        rows = classify_dataset(ds, pipeline_dir, num_actors=2, batch_size=16).take_all()
        example_outputs = run_ray_classify_example(tmp_path, pipeline_dir, texts[:40])
    finally:
        ray.shutdown()
    ids = [r["id"] for r in rows]
    assert len(ids) == n and sorted(ids) == list(range(n))  # none lost, none duplicated
    for r in rows:
        ref = expected[r["id"]]
        assert r["text"] == texts[r["id"]]
        for label in LABELS:
            assert abs(r[f"score_{label}"] - ref.cats[label]) <= 1e-5
        assert r["top_label"] == max(LABELS, key=lambda k: ref.cats[k])
        assert bool(r["truncated"]) == bool(ref._.gliznet_truncated)
    for table in example_outputs:  # examples/corpus/ray_classify.py, JSONL and Parquet in
        by_id = dict(zip(table["id"], table["score_politics"]))
        assert sorted(by_id) == list(range(40))
        for i, score in by_id.items():
            assert abs(score - expected[i].cats["politics"]) <= 1e-5


def run_ray_classify_example(tmp_path, pipeline_dir, texts):
    """Run the example's main() on a JSONL file and a Parquet file (in the running Ray session)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = ROOT / "examples" / "corpus" / "ray_classify.py"
    module = load_script(path, "ray_classify")
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)))
    parquet = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": list(range(len(texts))), "body": texts}), parquet)
    tables = []
    for source, extra in ((jsonl, []), (parquet, ["--text-column", "body", "--drop-text"])):
        out = tmp_path / f"out_{source.suffix[1:]}"
        rows = module.main([str(source), str(out), "--pipeline", str(pipeline_dir), "--actors", "1",
                            "--batch-size", "16", "--no-progress", *extra])
        assert rows == len(texts)
        tables.append(pq.read_table(out).to_pydict())
    assert "text" in tables[0] and "body" not in tables[1]
    return tables


def test_missing_model_path_is_refused_in_the_driver(tmp_path):
    """Not 'labels are needed', and not an ActorDiedError after the actors start."""
    with pytest.raises(GliZNetLoadError, match=r"'/no/such' does not exist"):
        GliZNetBatchClassifier("/no/such")
    with pytest.raises(GliZNetLoadError, match="does not exist"):
        GliZNetBatchClassifier(tmp_path / "missing", labels=["a"])
    with pytest.raises(GliZNetLoadError, match=r"'/no/such' does not exist"):
        classify_dataset(NeverRun(), "/no/such", labels=["a"])


class NeverRun:
    """A dataset stand-in that records what map_batches was given."""

    def map_batches(self, fn, **kwargs):
        self.kwargs = kwargs
        return self


def test_actor_restarts_and_retries_are_bounded(pipeline_dir):
    """Ray Data's defaults restart a killed actor and retry its batch forever."""
    pytest.importorskip("ray")
    from spacy_gliznet.scale.distributed import MAX_RESTARTS, MAX_TASK_RETRIES

    ds = classify_dataset(NeverRun(), pipeline_dir, num_actors=2)
    assert 0 < ds.kwargs["max_restarts"] == MAX_RESTARTS <= 5
    assert 0 < ds.kwargs["max_task_retries"] == MAX_TASK_RETRIES <= 5
    assert ds.kwargs["fn_constructor_kwargs"]["model"] == str(pipeline_dir.resolve())
    assert ds.kwargs["batch_format"] == "numpy"  # what GliZNetBatchClassifier reads


class Killed(BaseException):
    """Stands for the actor process dying (OOM, segfault): nothing after it runs."""


def test_a_row_that_kills_its_actor_twice_is_named(pipeline_dir, tmp_path, monkeypatch):
    """Each call is one incarnation of the actor (the marker file outlives it)."""
    from spacy.language import Language

    import spacy_gliznet.scale.distributed as distributed

    if not Language.has_factory("test_poison_pill"):
        @Language.component("test_poison_pill")
        def poison_pill(doc):
            if "POISON" in doc.text:
                raise Killed()
            return doc

    monkeypatch.setattr(distributed, "_marker_path", lambda: tmp_path / "actor.json")
    clf = GliZNetBatchClassifier(pipeline_dir, batch_size=8)
    clf.nlp.add_pipe("test_poison_pill")
    batch = {"id": np.arange(5), "text": np.array(["the match", "pasta", "POISON pill", "a song",
                                                    "news"], dtype=object)}
    for _ in range(2):  # the first incarnation dies on the batch, the second on the row
        with pytest.raises(Killed):
            clf(batch)
    with pytest.raises(GliZNetInputError, match=r"row 2 of a batch of 5 killed its actor twice.*"
                                                r"id='2', text='POISON pill'"):
        clf(batch)
    assert not (tmp_path / "actor.json").exists()
    ok = {"id": np.arange(2), "text": np.array(["the match", "pasta"], dtype=object)}
    assert list(clf(ok)["top_label"]) == list(clf.classify_texts(["the match", "pasta"])["top_label"])


def test_empty_arrow_batch_has_the_same_schema(classifier):
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("ray")
    full = through_ray(classifier, pa.table({"text": ["the match"]}))
    empty = through_ray(classifier, pa.table({"text": pa.array([], type=pa.string())}))
    assert empty.num_rows == 0
    for name in classifier.output_columns:
        assert empty.schema.field(name).type == full.schema.field(name).type
    assert empty.schema.field("top_label").type == pa.string()


EXAMPLE_LABELS = {"sports": {"examples": ["the team won the match", "a great goal"]},
                  "politics": {"examples": ["news of the world", "the bank and money"]},
                  "food": "food"}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ray_with_label_examples_same_as_nlp_pipe(tiny_isolated_gliznet_dir, tmp_path):
    """Labels with examples, in the saved pipeline and per call: Ray's rows as nlp.pipe."""
    ray = pytest.importorskip("ray")
    import ray.data

    nlp = helpers.make_nlp(tiny_isolated_gliznet_dir, labels=EXAMPLE_LABELS)
    nlp.initialize()
    nlp.to_disk(tmp_path / "p")
    texts = make_texts(40, seed=5)
    call = {"sports": {"examples": ["the goal was great"]}, "politics": "politics", "food": "food"}
    expected = reference(tmp_path / "p", texts)
    expected_call = reference(tmp_path / "p", texts, labels=call)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}})
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)],
                                 override_num_blocks=4)
        rows = classify_dataset(ds, tmp_path / "p", num_actors=2, batch_size=8).take_all()
        rows_call = classify_dataset(ds, tmp_path / "p", num_actors=2, batch_size=8,
                                     labels=call).take_all()
    finally:
        ray.shutdown()
    for got, want in ((rows, expected), (rows_call, expected_call)):
        assert sorted(r["id"] for r in got) == list(range(40))
        for r in got:
            for label in LABELS:
                assert abs(r[f"score_{label}"] - want[r["id"]].cats[label]) <= 1e-5
