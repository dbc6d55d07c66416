"""Classifying a corpus on a Ray cluster with Ray Data.

:class:`GliZNetBatchClassifier` is a stateful callable for
``ray.data.Dataset.map_batches``: each Ray actor loads the pipeline **once**,
from a path (or the bundled default model with the labels you give), in its own
process, so no model ever travels through Ray's object store. It takes a batch
in Ray Data's ``"numpy"`` batch format (a dict of column arrays; Ray converts
pandas, Arrow or any other blocks to it and back, see :data:`BATCH_FORMAT`) with
a text column, and returns the batch with plain columns added: one float32
score column per label (``score_<label>``), ``top_label``, ``top_score`` and
``truncated`` (``doc._.gliznet_truncated``).

:func:`classify_dataset` wires it into ``map_batches`` with a fixed pool of
actors, CPU or GPU (``num_gpus``, fp16 autocast by default on GPU)::

    import ray
    from spacy_gliznet.scale.distributed import classify_dataset

    ray.init()                                   # or ray.init(address="auto")
    ds = ray.data.read_parquet("corpus/")        # a "text" column
    out = classify_dataset(ds, "my_pipeline", num_actors=8, batch_size=256)
    out.write_parquet("scores/")

Ray is an optional dependency (``pip install "spacy-gliznet[ray]"``): this module
imports it only inside :func:`classify_dataset`, and the class itself needs
nothing of Ray, so it can be tested and used on plain batches.
"""

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import GliZNetInputError, GliZNetLoadError
from ..labels import LabelsArg, label_pairs

FACTORY = "gliznet_textcat"
# The batch format map_batches hands GliZNetBatchClassifier: a dict of column arrays.
BATCH_FORMAT = "numpy"
RAY_EXTRA_HINT = 'pip install "spacy-gliznet[ray]"  (installs ray[data] 2.60)'
# An actor killed by its batch (out of memory, a crash in native code) is restarted and
# the batch retried at most this often (Ray Data's defaults are unbounded); the third
# incarnation names the row that killed the two before it (see GliZNetBatchClassifier).
MAX_RESTARTS = 3
MAX_TASK_RETRIES = 3
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


def check_model_path(model: Optional[Union[str, Path]]) -> Optional[str]:
    """``model`` as actors must receive it: an existing path made absolute (actors do
    not share the driver's working directory), a Hub id as it is, None as None; a
    path that does not exist and cannot be a Hub id is a GliZNetLoadError here, in
    the driver, before any actor starts."""
    if model is None:
        return None
    path = Path(model)
    if path.exists():
        return str(path.resolve())
    if _HUB_ID.fullmatch(str(model)) and ".." not in str(model):
        return str(model)
    raise GliZNetLoadError(f"model {str(model)!r} does not exist (no such file or directory) and is "
                           f"not a Hub id ('org/name')")


def require_ray():
    """Import Ray Data, or raise an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"spacy_gliznet.scale.distributed needs Ray Data, which is not installed ({err}). "
            f"Install the optional extra: {RAY_EXTRA_HINT}"
        ) from None
    return ray


def check_num_gpus(num_gpus: Any) -> float:
    """``num_gpus`` per actor: a number >= 0 (a fraction shares a GPU between actors)."""
    if isinstance(num_gpus, bool) or not isinstance(num_gpus, (int, float)) or not num_gpus >= 0 \
            or num_gpus != num_gpus or num_gpus == float("inf"):
        raise GliZNetInputError(
            f"num_gpus must be a number >= 0 (GPUs per actor; 0 for CPU actors, a fraction such "
            f"as 0.5 to share one GPU), got {num_gpus!r}"
        )
    return float(num_gpus)


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GliZNetInputError(f"{name} must be a positive int, got {value!r}")
    return value


def _label_keys(labels: Optional[LabelsArg]) -> Optional[List[str]]:
    """The keys of ``labels`` (checked as the component checks them), None for None."""
    if labels is None:
        return None
    keys = [key for key, _ in label_pairs(dict(labels) if isinstance(labels, Mapping) else labels,
                                          "labels")]
    if not keys:
        raise GliZNetInputError("labels is empty: give at least one label")
    return keys


def find_component(config: Any, component: Optional[str], where: str) -> str:
    """The name of the ``gliznet_textcat`` pipe of a pipeline config."""
    pipes = [name for name in config["nlp"]["pipeline"]
             if config["components"].get(name, {}).get("factory") == FACTORY]
    if component is not None:
        if component not in pipes:
            raise GliZNetLoadError(
                f"{where} has no {FACTORY} component named {component!r}; its {FACTORY} "
                f"components are {pipes!r}"
            )
        return component
    if not pipes:
        raise GliZNetLoadError(f"{where} has no {FACTORY} component (pipeline: "
                               f"{list(config['nlp']['pipeline'])!r})")
    if len(pipes) > 1:
        raise GliZNetLoadError(f"{where} has several {FACTORY} components {pipes!r}: choose one "
                               f"with component=...")
    return pipes[0]


def load_classifier_pipeline(model: Optional[Union[str, Path]] = None, *, labels: Optional[LabelsArg] = None,
                             component: Optional[str] = None, mixed_precision: bool = False,
                             quantize: bool = False):
    """Load the pipeline an actor classifies with; returns ``(nlp, component name)``.

    model: a directory saved with ``nlp.to_disk`` (it has a ``config.cfg``) and
        holding a ``gliznet_textcat`` pipe; a GliZNet checkpoint directory or
        Hub id (a blank English pipeline with that model); or None for the
        bundled default model.
    labels: needed when ``model`` is not a saved pipeline with labels.
    mixed_precision: sets the model block's ``mixed_precision`` (fp16 autocast
        on CUDA).
    quantize: sets the model block's ``quantize`` (int8 dynamic quantization of
        the Linear layers on CPU: faster, slightly different scores).
    """
    import spacy

    mixed = {"mixed_precision": bool(mixed_precision), **({"quantize": True} if quantize else {})}
    model = check_model_path(model)
    path = Path(model) if model is not None else None
    if path is not None and (path / "config.cfg").is_file():
        config = spacy.util.load_config(path / "config.cfg")
        name = find_component(config, component, f"the pipeline at {str(path)!r}")
        nlp = spacy.load(path, config={"components": {name: {"model": mixed}}})
        return nlp, name
    if path is not None and path.exists() and not path.is_dir():
        raise GliZNetLoadError(f"model must be a pipeline or checkpoint directory, got the file {str(path)!r}")
    if labels is None:
        raise GliZNetInputError(
            "labels are needed: model is "
            + ("the bundled default model" if model is None else f"{str(model)!r}, not a saved pipeline")
            + "; give labels=[...] or a {label: description} dict"
        )
    name = component or FACTORY
    nlp = spacy.blank("en")
    model_cfg = {**mixed, **({"name": str(model)} if model is not None else {})}
    nlp.add_pipe(FACTORY, name=name, config={"model": model_cfg})
    nlp.initialize()
    return nlp, name


def _values(batch: Mapping[str, Any], column: str) -> List[Any]:
    values = batch[column]
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


class GliZNetBatchClassifier:
    """A stateful ``map_batches`` callable: one pipeline per actor, loaded from a path.

    model: a saved pipeline directory with a ``gliznet_textcat`` pipe, a GliZNet
        checkpoint directory or Hub id, or None for the bundled default model.
        Give a path every node can read (a shared file system, or the same path
        on each node): the actor loads it itself.
    labels: a list of labels or a {label: description} dict, scored in every
        row; None uses the saved pipe's labels. One ``score_<label>`` column
        each.
    multi_label: True for independent sigmoid scores, False for a softmax over
        the labels; None keeps the pipe's setting.
    text_column: the input column with the texts.
    batch_size: docs per ``nlp.pipe`` batch inside the actor.
    num_gpus: GPUs of the actor (the value given to ``map_batches``); above 0
        the pipeline runs on the actor's CUDA device (needs cupy, as spaCy's
        GPU support does: ``pip install "spacy[cuda12x]"``).
    mixed_precision: fp16 autocast on the GPU; None means "on when num_gpus > 0".
    quantize: int8 dynamic quantization on CPU actors (the model block's
        ``quantize``; faster, slightly different scores).
    threads: torch CPU threads of the actor; None leaves torch's (Ray sets
        ``OMP_NUM_THREADS`` to the actor's ``num_cpus``).
    component: the ``gliznet_textcat`` pipe to use when the pipeline has several.
    score_prefix: prefix of the score columns.

    A batch is a dict of column arrays (``map_batches(..., batch_format="numpy")``,
    as :func:`classify_dataset` calls it; Ray converts the dataset's blocks). The
    output batch is the input batch (same row order) plus the score columns,
    ``top_label`` (the label with the highest score, a string column even when
    empty), ``top_score`` and ``truncated``.
    """

    def __init__(self, model: Optional[Union[str, Path]] = None, *, labels: Optional[LabelsArg] = None,
                 multi_label: Optional[bool] = None, text_column: str = "text", batch_size: int = 64,
                 num_gpus: float = 0, mixed_precision: Optional[bool] = None, threads: Optional[int] = None,
                 component: Optional[str] = None, score_prefix: str = "score_",
                 quantize: bool = False) -> None:
        num_gpus = check_num_gpus(num_gpus)
        _check_positive_int("batch_size", batch_size)
        if threads is not None:
            _check_positive_int("threads", threads)
        if multi_label is not None and not isinstance(multi_label, bool):
            raise GliZNetInputError(f"multi_label must be True, False or None, got {multi_label!r}")
        if not isinstance(text_column, str) or not text_column:
            raise GliZNetInputError(f"text_column must be a column name, got {text_column!r}")
        label_keys = _label_keys(labels)
        if mixed_precision is None:
            mixed_precision = num_gpus > 0
        elif mixed_precision and num_gpus == 0:
            raise GliZNetInputError("mixed_precision=True needs a GPU actor (num_gpus > 0): fp16 "
                                    "autocast runs on CUDA only")
        if quantize and num_gpus > 0:
            raise GliZNetInputError("quantize=True is for CPU actors (int8 on CPU); GPU actors use "
                                    "half precision")
        if num_gpus > 0:
            self._use_gpu()
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        self.nlp, self.component = load_classifier_pipeline(
            model, labels=labels, component=component, mixed_precision=mixed_precision, quantize=quantize)
        pipe = self.nlp.get_pipe(self.component)
        self.labels: List[str] = label_keys if label_keys is not None else list(pipe.labels)
        if not self.labels:
            raise GliZNetInputError(f"the pipe {self.component!r} of {str(model)!r} has no labels: give labels=[...]")
        call_cfg: Dict[str, Any] = {}
        if labels is not None:
            call_cfg["labels"] = dict(labels) if isinstance(labels, Mapping) else list(labels)
        if multi_label is not None:
            call_cfg["multi_label"] = multi_label
        self.component_cfg = {self.component: call_cfg} if call_cfg else None
        self.text_column = text_column
        self.batch_size = batch_size
        self.score_columns = [f"{score_prefix}{label}" for label in self.labels]
        self.output_columns = [*self.score_columns, "top_label", "top_score", "truncated"]
        if len(set(self.output_columns)) != len(self.output_columns):
            raise GliZNetInputError(f"score_prefix {score_prefix!r} makes a score column clash with "
                                    f"top_label, top_score or truncated: {self.score_columns!r}")

    @staticmethod
    def _use_gpu() -> None:
        import spacy
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError(
                "num_gpus > 0 but this process sees no CUDA device (torch.cuda.is_available() is "
                f"False; CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}). Give "
                "map_batches the same num_gpus so Ray assigns a GPU, or use num_gpus=0."
            )
        try:
            spacy.require_gpu(0)  # Ray makes the actor's GPU device 0
        except ValueError as err:
            raise RuntimeError(
                f"num_gpus > 0 but spaCy cannot use the GPU ({err}); spaCy's GPU support needs "
                'cupy: pip install "spacy[cuda12x]" (or the cupy wheel for your CUDA)'
            ) from None

    def _guarded(self, batch: Mapping[str, Any], names: List[str]) -> Dict[str, np.ndarray]:
        """``classify_texts`` on the batch, under a marker file that outlives a killed
        actor (Ray restarts it with the same actor id and retries the batch): the
        first incarnation that dies on a batch marks it; the next one classifies
        it row by row, marking each row first; the one after that finds the row
        that killed its predecessor and fails the job with an error naming it."""
        texts = _values(batch, self.text_column)
        marker = _marker_path()
        if marker is None:  # not in a Ray actor
            return self.classify_texts(texts)
        key = hashlib.sha1("\x00".join(map(str, texts)).encode("utf8", "replace")).hexdigest()
        seen = _read_marker(marker)
        if seen.get("key") == key and "row" in seen:
            row = seen["row"]
            values = {n: _values(batch, n)[row] for n in names}
            shown = ", ".join(f"{n}={str(v)[:80]!r}" for n, v in values.items())
            marker.unlink()
            raise GliZNetInputError(
                f"row {row} of a batch of {len(texts)} killed its actor twice (out of memory or a "
                f"crash in native code), so it fails the job: {shown}. Remove or shorten that "
                f"row, or give actors more memory.")
        if seen.get("key") != key:
            _write_marker(marker, {"key": key})
            out = self.classify_texts(texts)
        else:  # this batch killed the actor before: find the row
            parts = []
            for i, text in enumerate(texts):
                _write_marker(marker, {"key": key, "row": i})
                parts.append(self.classify_texts([text]))
            out = {n: np.concatenate([p[n] for p in parts]) if parts else self.classify_texts([])[n]
                   for n in self.output_columns}
        marker.unlink(missing_ok=True)
        return out

    def classify_texts(self, texts: Sequence[Any]) -> Dict[str, np.ndarray]:
        """The output columns for a list of texts (what ``__call__`` adds)."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise GliZNetInputError(
                    f"row {i} of the batch: column {self.text_column!r} must hold strings, got "
                    f"{type(text).__name__} {text!r}"
                )
        n, k = len(texts), len(self.labels)
        scores = np.zeros((n, k), dtype=np.float32)
        truncated = np.zeros(n, dtype=bool)
        docs = self.nlp.pipe(texts, batch_size=self.batch_size, component_cfg=self.component_cfg)
        for i, doc in enumerate(docs):
            cats = doc.cats
            missing = [label for label in self.labels if label not in cats]
            if missing:
                raise GliZNetInputError(
                    f"row {i}: the pipeline wrote no score for {missing!r} (doc._.gliznet_labels or "
                    "another pipe changed the labels); give labels=[...] for a fixed label set"
                )
            scores[i] = [cats[label] for label in self.labels]
            truncated[i] = bool(doc._.gliznet_truncated)
        top = scores.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
        columns = {name: scores[:, j] for j, name in enumerate(self.score_columns)}
        columns["top_label"] = np.array([self.labels[j] for j in top], dtype=str)  # str, even empty
        columns["top_score"] = scores[np.arange(n), top] if n else np.zeros(0, dtype=np.float32)
        columns["truncated"] = truncated
        return columns

    def __call__(self, batch: Mapping[str, Any]) -> Dict[str, Any]:
        if not isinstance(batch, Mapping):
            raise GliZNetInputError(
                f"expected a batch as a dict of columns (map_batches with batch_format="
                f"{BATCH_FORMAT!r}), got {type(batch).__name__}"
            )
        names = list(batch.keys())
        if self.text_column not in names:
            raise GliZNetInputError(
                f"the batch has no text column {self.text_column!r} (columns: {names!r}); "
                "set text_column=..."
            )
        clash = [c for c in self.output_columns if c in names]
        if clash:
            raise GliZNetInputError(f"the batch already has the output column(s) {clash!r}; rename "
                                    "them or set score_prefix=...")
        return {**batch, **self._guarded(batch, names)}


def classify_dataset(dataset: Any, model: Optional[Union[str, Path]] = None, *,
                     labels: Optional[LabelsArg] = None, multi_label: Optional[bool] = None,
                     text_column: str = "text", num_actors: int = 1, batch_size: int = 64,
                     num_gpus: float = 0, num_cpus: Optional[float] = None,
                     mixed_precision: Optional[bool] = None, component: Optional[str] = None,
                     score_prefix: str = "score_", quantize: bool = False) -> Any:
    """``dataset.map_batches`` with :class:`GliZNetBatchClassifier` on a pool of actors.

    num_actors: actors in the pool (each holds one pipeline).
    num_cpus: CPUs per actor (also its torch threads); default 1 for CPU actors,
        Ray's default for GPU actors.
    Other arguments: see :class:`GliZNetBatchClassifier`. Returns the lazy
    output Dataset (nothing runs until it is written or consumed). Row order
    follows Ray Data's ``DataContext.execution_options.preserve_order``.
    """
    ray = require_ray()
    num_gpus = check_num_gpus(num_gpus)
    _check_positive_int("num_actors", num_actors)
    _check_positive_int("batch_size", batch_size)
    if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, (int, float))
                                 or not num_cpus > 0):
        raise GliZNetInputError(f"num_cpus must be a number > 0, got {num_cpus!r}")
    if num_cpus is None and num_gpus == 0:
        num_cpus = 1
    _label_keys(labels)  # fail here, not in every actor
    model = check_model_path(model)  # here, before any actor starts
    threads = max(1, int(num_cpus)) if num_cpus is not None else None
    remote_args: Dict[str, Any] = {"max_restarts": MAX_RESTARTS, "max_task_retries": MAX_TASK_RETRIES}
    if num_cpus is not None:
        remote_args["num_cpus"] = num_cpus
    if num_gpus > 0:
        remote_args["num_gpus"] = num_gpus
    return dataset.map_batches(
        GliZNetBatchClassifier,
        fn_constructor_kwargs=dict(
            model=None if model is None else str(model), labels=labels, multi_label=multi_label,
            text_column=text_column, batch_size=batch_size, num_gpus=num_gpus,
            mixed_precision=mixed_precision, threads=threads, component=component,
            score_prefix=score_prefix, quantize=quantize,
        ),
        batch_size=batch_size,
        batch_format=BATCH_FORMAT,
        compute=ray.data.ActorPoolStrategy(size=num_actors),
        udf_modifying_row_count=False,
        **remote_args,
    )


def _marker_path() -> Optional[Path]:
    """The batch marker of this Ray actor (kept across its restarts), or None outside one."""
    try:
        import ray

        if not ray.is_initialized():
            return None
        actor = ray.get_runtime_context().get_actor_id()
    except Exception:
        return None
    return Path(tempfile.gettempdir()) / f"gliznet_actor_{actor}.json" if actor else None


def _read_marker(path: Path) -> Dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError):
        return {}


def _write_marker(path: Path, value: Dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value), encoding="utf8")
    os.replace(tmp, path)


__all__: Tuple[str, ...] = (
    "GliZNetBatchClassifier",
    "check_num_gpus",
    "classify_dataset",
    "load_classifier_pipeline",
    "require_ray",
)
