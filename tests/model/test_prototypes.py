"""Labels with examples in the model (model/prototypes.py): the score mix, the
leave-one-out choice of its weight, and its determinism."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spacy_gliznet.model import prototypes as P


def unit(x):
    return F.normalize(torch.as_tensor(x, dtype=torch.float32), dim=-1)


def clustered(K=4, n=6, D=16, spread=0.3, seed=0, label_noise=1.0):
    """K labels whose examples cluster around a centre each; the label vectors are the
    centres plus ``label_noise`` (1.0: nearly unrelated to the centres)."""
    g = torch.Generator().manual_seed(seed)
    centres = unit(torch.randn(K, D, generator=g))
    labels = unit(centres + label_noise * torch.randn(K, D, generator=g))
    examples = [unit(centres[k] + spread * torch.randn(n, D, generator=g)) for k in range(K)]
    keys = [[(k, i) for i in range(n)] for k in range(K)]
    return labels, examples, keys, centres


def test_combine_is_the_score_mix_and_keeps_labels_without_examples_bit_for_bit():
    labels, examples, keys, _ = clustered()
    examples[2] = None
    keys[2] = []
    X, Y = P.stack_examples(examples, keys, 4)
    sums, counts = P.example_sums(X, Y)
    out = P.combine(labels, sums, counts, 0.3)
    assert torch.equal(out[2], labels[2])
    proto = unit(examples[0].mean(0))
    assert torch.allclose(out[0], unit(0.7 * labels[0] + 0.3 * proto), atol=1e-6)
    assert torch.allclose(P.combine(labels, sums, counts, 1.0)[1], unit(examples[1].mean(0)),
                          atol=1e-6)
    assert torch.equal(P.combine(labels, sums, counts, 0.0), labels)
    with pytest.raises(ValueError, match="weight"):
        P.combine(labels, sums, counts, 1.5)


def test_loo_cosines_leave_the_example_out_of_its_own_label():
    labels, examples, keys, _ = clustered(K=3, n=3)
    X, Y = P.stack_examples(examples, keys, 3)
    sums, counts = P.example_sums(X, Y)
    parts = P.loo_parts(labels, X, Y, sums, counts)
    for w in (0.0, 0.3, 1.0):
        cos = P.loo_cosines(parts, w)
        for i in range(X.shape[0]):
            for k in range(3):
                members = [j for j in range(X.shape[0]) if Y[j, k] and j != i]
                proto = F.normalize(X[members].mean(0), dim=-1)
                v = F.normalize((1 - w) * labels[k].double() + w * proto, dim=-1)
                assert abs(float(cos[i, k]) - float(v @ X[i])) < 1e-6
    assert torch.allclose(parts[0], X @ labels.double().T)


def test_an_example_under_two_labels_is_one_row():
    v = unit(torch.randn(2, 8, generator=torch.Generator().manual_seed(1)))
    X, Y = P.stack_examples([v, v[:1]], [[("a",), ("b",)], [("a",)]], 2)
    assert X.shape == (2, 8) and Y.tolist() == [[True, True], [True, False]]


def test_informative_examples_get_weight_and_misleading_ones_keep_the_plain_labels():
    labels, examples, keys, _ = clustered(label_noise=2.0)
    X, Y = P.stack_examples(examples, keys, 4)
    good = P.choose(labels, X, Y, logit_scale=16.0, offset=0.2)
    assert good.weight > 0 and good.t_stat >= P.Z and good.loo_score < good.raw_loo_score
    # examples that are their label plus as much unrelated text: the labels alone tell
    # them apart as well, so the plain labels stay
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        plain = unit(torch.randn(4, 64, generator=g))
        noisy = [unit(0.5 * plain[k] + unit(torch.randn(6, 64, generator=g))) for k in range(4)]
        X, Y = P.stack_examples(noisy, [[(k, i) for i in range(6)] for k in range(4)], 4)
        bad = P.choose(plain, X, Y, logit_scale=16.0, offset=0.2)
        assert bad.weight == 0.0 and bad.loo_score == bad.raw_loo_score and bad.t_stat < P.Z


def test_the_choice_is_deterministic_and_bounded_for_large_label_sets():
    labels, examples, keys, _ = clustered(K=50, n=3, D=32, seed=3)
    X, Y = P.stack_examples(examples, keys, 50)
    first = P.choose(labels, X, Y, 16.0, 0.2)
    again = P.choose(labels.clone(), X.clone(), Y.clone(), 16.0, 0.2)
    assert first == again
    assert len(P.loo_rows(10_000, 4096)) == 4096 and P.loo_rows(10, 4096).tolist() == list(range(10))
    # two examples in all: too few to learn from, the plain labels stay
    two = P.choose(labels, X[:2], Y[:2], 16.0, 0.2)
    assert two.weight == 0.0 and two.curve == ()


def test_multi_label_choice_fits_a_cut_off_per_label():
    labels, examples, keys, _ = clustered(K=3, n=4, label_noise=2.0)
    X, Y = P.stack_examples(examples, keys, 3)
    choice = P.choose(labels, X, Y, 16.0, 0.2, multi_label=True)
    assert len(choice.thresholds) == 3
    assert choice == P.choose(labels, X, Y, 16.0, 0.2, multi_label=True)
    assert choice.loo_score == max(f for _, f in choice.curve)
    cut, f1 = P.best_cut(np.array([0.1, 0.2, 0.8, 0.9]), np.array([False, False, True, True]))
    assert cut == pytest.approx(0.5) and f1 == 1.0
    L = np.array([[2.0, -1.0], [-1.0, 3.0], [1.0, 0.5]])
    gold = np.array([[True, False], [False, True], [True, False]])
    cuts = P.fit_thresholds(L, gold, min_pos=2)
    assert cuts[0] == pytest.approx(0.0) and cuts[1] == P.best_cut(L.ravel(), gold.ravel())[0]
