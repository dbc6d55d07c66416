"""Learning rates that suit a pretrained encoder: a guard against rates that wreck
it, and a warmup schedule that scales with the run's length.

- :func:`check_learn_rate`: called by the component before every optimizer step;
  warns (:class:`~spacy_gliznet.errors.LearnRateWarning`, once per pipe) when the
  optimizer's current rate is above :data:`MAX_SAFE_LEARN_RATE`. ``spacy init config
  --pipeline gliznet_textcat`` writes spaCy's generic Adam at 1e-3, which takes a
  fine-tuned MiniLM below chance within tens of steps.
- :func:`warmup_linear_fraction` (registered as ``spacy_gliznet.warmup_linear.v1``):
  thinc's ``warmup_linear.v1`` whose warmup is a fraction of ``total_steps``, so that
  ``--training.max_steps 60`` with ``total_steps = ${training.max_steps}`` warms up
  for 6 steps instead of never reaching its rate.
"""

import warnings
from typing import Any, Iterable, Optional, Union

from thinc.api import warmup_linear

from ..errors import GliZNetConfigError, LearnRateWarning, warn_once

# Above this, Adam moves a pretrained transformer's weights too far per step
# (spacy-transformers' quickstart uses 5e-5; this package's configs 2e-5 to 5e-5).
MAX_SAFE_LEARN_RATE = 1e-4
FALLBACK_TOTAL_STEPS = 20000

ADVICE = ("Start from the shipped config (spacy_gliznet/configs/gliznet_textcat.cfg: Adam 3e-5, "
          "warmup over a tenth of max_steps) or write one with `python -m spacy_gliznet "
          "init-config config.cfg`; or set [training.optimizer.learn_rate] to at most {limit:g}.")


def current_learn_rate(sgd: Any) -> Optional[float]:
    """The learning rate ``sgd`` applies at its current step (None: unknown)."""
    rate = getattr(sgd, "learn_rate", None)
    try:
        return float(rate)
    except (TypeError, ValueError):
        return None


def check_learn_rate(pipe: Any, sgd: Any, limit: float = MAX_SAFE_LEARN_RATE) -> None:
    """Warn once per pipe when ``sgd`` is about to apply a rate above ``limit``."""
    rate = current_learn_rate(sgd) if sgd is not None else None
    if rate is None or rate <= limit:
        return
    name = getattr(pipe, "name", "gliznet_textcat")
    warn_once(pipe, "learn_rate",
              f"{name}: the optimizer's learning rate is {rate:g}, above {limit:g}: at this rate "
              f"the pretrained encoder is overwritten within tens of steps and zero-shot scores "
              f"fall below chance. " + ADVICE.format(limit=limit) + " This warning is shown once.",
              LearnRateWarning, stacklevel=3)


def warmup_linear_fraction(initial_rate: float, total_steps: Union[int, str],
                           warmup_fraction: float = 0.1,
                           warmup_steps: Optional[int] = None) -> Iterable[float]:
    """``spacy_gliznet.warmup_linear.v1``: linear warmup to ``initial_rate``, then a linear
    decay to 0 at ``total_steps`` (thinc's ``warmup_linear.v1``).

    total_steps: the steps of the run; ``${training.max_steps}`` follows
        ``--training.max_steps`` on the command line. Must be > 0. (``nlp.initialize()``
        without an optimizer resolves this block uninterpolated: it then warns and
        assumes 20000.)
    warmup_fraction: the share of ``total_steps`` spent warming up, in [0, 1).
    warmup_steps: an absolute number of warmup steps; given, it wins over the fraction.
    """
    if isinstance(total_steps, str) and total_steps.startswith("${"):
        # spaCy's nlp.create_optimizer() (and nlp.initialize() without sgd) resolve the
        # optimizer block alone, uninterpolated; `spacy train` interpolates it.
        warnings.warn(f"spacy_gliznet.warmup_linear.v1: total_steps is {total_steps}, which "
                      f"nlp.initialize()/create_optimizer() do not interpolate; this optimizer "
                      f"assumes {FALLBACK_TOTAL_STEPS} steps (spacy train reads the real value)",
                      UserWarning, stacklevel=2)
        total_steps = FALLBACK_TOTAL_STEPS
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
        raise GliZNetConfigError(
            f"spacy_gliznet.warmup_linear.v1: total_steps must be a positive number of steps, got "
            f"{total_steps!r} (with total_steps = ${{training.max_steps}}, set [training] "
            f"max_steps > 0, e.g. --training.max_steps 2000)")
    if not 0.0 <= float(warmup_fraction) < 1.0:
        raise GliZNetConfigError(f"spacy_gliznet.warmup_linear.v1: warmup_fraction must be in [0, 1), "
                         f"got {warmup_fraction!r}")
    if initial_rate <= 0:
        raise GliZNetConfigError(f"spacy_gliznet.warmup_linear.v1: initial_rate must be > 0, got "
                         f"{initial_rate!r}")
    if warmup_steps is None:
        warmup_steps = int(round(warmup_fraction * total_steps))
    elif warmup_steps < 0:
        raise GliZNetConfigError(f"spacy_gliznet.warmup_linear.v1: warmup_steps must be >= 0, got "
                         f"{warmup_steps!r}")
    return warmup_linear(initial_rate, int(warmup_steps), total_steps)
