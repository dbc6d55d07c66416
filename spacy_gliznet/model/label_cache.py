"""A bounded cache of label vectors (a leaf: imports nothing of the package).

A model whose labels are encoded apart from the text (``label_attention =
"isolated"``, the bundled model) gives each label one vector, whatever the text.
:class:`LabelVectorCache` keeps those vectors across batches and calls, so a label
set is encoded once, not once per batch.

- Key: the token ids the model reads for a label (its ``[LAB]`` block, from the
  label's text or description): what decides the vector, so two texts that
  tokenize alike share one entry.
- Validity: one *state* of the model (its weights, ``max_length``, device and
  autocast), given by the model with every lookup; a lookup under another state
  empties the cache first. The model also empties it explicitly when its
  weights change through spaCy (``update``, ``initialize``, loading).
- Size: at most ``max_size`` vectors, least recently used dropped first
  (:data:`DEFAULT_MAX_SIZE`: 50,000 vectors, 75 MiB for 384-dim vectors,
  plus the keys). ``max_size = 0`` turns caching off.
- Copies (``copy.deepcopy``, pickling) start empty.
"""

from collections import OrderedDict
from typing import Any, Callable, Hashable, List, Optional, Sequence, Tuple

import torch

from ..errors import GliZNetConfigError

DEFAULT_MAX_SIZE = 50_000
LabelKey = Tuple[int, ...]


class LabelVectorCache:
    """Label vectors by key, valid for one model state; see the module docstring.

    max_size: the most vectors kept (0: none).
    """

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.max_size = max_size
        self.clear()

    @property
    def max_size(self) -> int:
        return self._max_size

    @max_size.setter
    def max_size(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise GliZNetConfigError(f"max_size must be an integer >= 0, got {value!r}")
        self._max_size = value
        if hasattr(self, "_rows"):
            self.clear()

    def clear(self) -> None:
        """Forget every vector (and the state they were computed under)."""
        self._rows: "OrderedDict[LabelKey, int]" = OrderedDict()
        self._store: Optional[torch.Tensor] = None
        self._free: List[int] = []
        self._state: Optional[Hashable] = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: LabelKey) -> bool:
        return key in self._rows

    def vectors(self, keys: Sequence[LabelKey], state: Hashable,
                compute: Callable[[List[int]], torch.Tensor]) -> torch.Tensor:
        """The (len(keys), D) vectors of ``keys`` under model ``state``.

        compute: given the positions (in ``keys``) of the keys not cached, their
            (M, D) vectors. Computed vectors are kept (the most recent ``max_size``).
        """
        if state != self._state:
            self.clear()
            self._state = state
        if not keys:
            return torch.empty((0, 0))
        rows = [self._rows.get(k) for k in keys]
        missing = [i for i, r in enumerate(rows) if r is None]
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        fresh = compute(missing) if missing else None
        with torch.inference_mode(False), torch.no_grad():
            if fresh is not None:
                fresh = fresh.detach().clone()
            if not missing:
                out = self._store[torch.tensor(rows, device=self._store.device)]
            else:
                out = fresh.new_empty((len(keys), fresh.shape[1]))
                out[torch.tensor(missing, device=out.device)] = fresh
                hit = [i for i, r in enumerate(rows) if r is not None]
                if hit:
                    out[torch.tensor(hit, device=out.device)] = self._store[
                        torch.tensor([rows[i] for i in hit], device=out.device)]
            for i, r in enumerate(rows):
                if r is not None:
                    self._rows.move_to_end(keys[i])
            if fresh is not None and self.max_size:
                self._insert([keys[i] for i in missing], fresh)
        return out

    def _insert(self, keys: List[LabelKey], vectors: torch.Tensor) -> None:
        keep = min(len(keys), self.max_size)
        keys, vectors = keys[len(keys) - keep:], vectors[len(vectors) - keep:]
        while len(self._rows) + len(keys) > self.max_size:
            self._free.append(self._rows.popitem(last=False)[1])
        need = len(keys) - len(self._free)
        if need > 0:
            self._grow(need, vectors)
        slots = [self._free.pop() for _ in keys]
        self._store[torch.tensor(slots, device=self._store.device)] = vectors.to(self._store.dtype)
        self._rows.update(zip(keys, slots))

    def _grow(self, need: int, like: torch.Tensor) -> None:
        """Room for ``need`` more rows (capacity doubles, up to ``max_size``)."""
        old = 0 if self._store is None else self._store.shape[0]
        new = min(self.max_size, max(old * 2, old + need, 1024))
        store = like.new_empty((new, like.shape[1]))
        if self._store is not None:
            store[:old] = self._store
        self._free.extend(range(new - 1, old - 1, -1))
        self._store = store

    def nbytes(self) -> int:
        """Memory held by the stored vectors."""
        return 0 if self._store is None else self._store.numel() * self._store.element_size()

    # copies start empty: a copy of a model (e.g. an int8 one) has weights of its own
    def __deepcopy__(self, memo: Any) -> "LabelVectorCache":
        return LabelVectorCache(self.max_size)

    def __getstate__(self) -> dict:
        return {"max_size": self.max_size}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["max_size"])
