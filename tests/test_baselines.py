"""Baseline losses against their published formulas, evaluated by hand (plain Python loops and the math
module) on tiny examples written out here; plus their documented conventions and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.linalg import hadamard

from semhash_lib.losses import CSQLoss, DPSHLoss, DSHLoss, GreedyHashLoss, HashNetLoss, hash_centers

torch.set_num_threads(2)

# A tiny batch: 4 samples, 3 bits, classes [0, 0, 1, 2].
H = [[0.5, -0.8, 0.1], [0.9, -0.2, -0.4], [-0.3, 0.7, 0.6], [0.2, 0.4, -1.2]]
Y = [0, 0, 1, 2]
PAIRS = [(i, j) for i in range(4) for j in range(4) if i != j]


def tensors():
    return torch.tensor(H, dtype=torch.float64), torch.tensor(Y)


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def softplus(x):
    return math.log1p(math.exp(x))


def test_dsh_equals_published_pair_loss():
    """Liu et al. 2016, Eq. 5: ½(1-y)||b1-b2||² + ½ y max(m - ||b1-b2||², 0) + α(|||b1|-1||₁ + |||b2|-1||₁),
    y = 0 for similar pairs, m = 2K, averaged over all pairs of the batch."""
    alpha, m = 0.01, 2 * 3
    per_pair = []
    for i, j in PAIRS:
        y = 0 if Y[i] == Y[j] else 1
        d2 = sum((a - b) ** 2 for a, b in zip(H[i], H[j]))
        reg = sum(abs(abs(v) - 1) for v in H[i]) + sum(abs(abs(v) - 1) for v in H[j])
        per_pair.append(0.5 * (1 - y) * d2 + 0.5 * y * max(m - d2, 0) + alpha * reg)
    expected = sum(per_pair) / len(per_pair)
    h, y = tensors()
    total, terms = DSHLoss(bits=3)(h, None, y, None)
    assert total.item() == pytest.approx(expected, rel=1e-12)
    assert set(terms) == {"pair", "reg"}


def test_dsh_margin_is_active_for_close_dissimilar_pairs_only():
    h = torch.tensor([[1.0, 1.0], [1.0, 0.9], [-1.0, -1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 1])  # 0 and 1 dissimilar but close, 1 and 2 similar but far
    # pairs (both orders): (0,1) dissimilar d2=0.01 -> ½(4-0.01); (0,2) dissimilar d2=8 -> 0;
    # (1,2) similar d2=4+3.61 -> ½ 7.61; regulariser: |0.9|-1 -> 0.1 for sample 1 only
    pair = (0.5 * (4 - 0.01) + 0 + 0.5 * 7.61) / 3
    reg = (0 + 0.1 + 0) / 3
    total, _ = DSHLoss(bits=2, alpha=0.5)(h, None, labels, None)
    assert total.item() == pytest.approx(pair + 2 * 0.5 * reg, rel=1e-12)


def test_dpsh_equals_published_likelihood():
    """Li et al. 2016, Eq. 5: -Σ (s Θ - log(1 + e^Θ)) + η Σ ||b - u||², Θ = ½ uᵢᵀuⱼ; averaged (pairs, samples)."""
    eta = 0.3
    nll = sum(math.log(1 + math.exp(0.5 * dot(H[i], H[j]))) - (Y[i] == Y[j]) * 0.5 * dot(H[i], H[j])
              for i, j in PAIRS) / len(PAIRS)
    quant = sum(sum(((1 if v >= 0 else -1) - v) ** 2 for v in row) for row in H) / 4
    h, y = tensors()
    total, terms = DPSHLoss(eta=eta)(h, None, y, None)
    assert terms["likelihood"].item() == pytest.approx(nll, rel=1e-12)
    assert total.item() == pytest.approx(nll + eta * quant, rel=1e-12)


def test_hashnet_equals_published_weighted_likelihood():
    """Cao et al. 2017, Eq. 6: Σ w_ij (log(1 + e^{α<hi,hj>}) - α s_ij <hi,hj>) / |S|, w = |S|/|S1| or |S|/|S0|."""
    alpha = 10 / 3
    sim = [(i, j) for i, j in PAIRS if Y[i] == Y[j]]
    dis = [(i, j) for i, j in PAIRS if Y[i] != Y[j]]
    n_s = len(PAIRS)

    def ell(i, j):
        ip = alpha * dot(H[i], H[j])
        return softplus(ip) - (Y[i] == Y[j]) * ip

    expected = (sum(n_s / len(sim) * ell(i, j) for i, j in sim) + sum(n_s / len(dis) * ell(i, j) for i, j in dis)) / n_s
    h, y = tensors()
    total, _ = HashNetLoss(bits=3)(h, None, y, None)
    assert total.item() == pytest.approx(expected, rel=1e-12)


def test_hashnet_without_similar_pairs_uses_the_dissimilar_mean():
    h = torch.tensor(H[:3], dtype=torch.float64)
    labels = torch.tensor([0, 1, 2])
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    expected = sum(softplus(0.5 * dot(H[i], H[j])) for i, j in pairs) / len(pairs)
    total, _ = HashNetLoss(bits=3, alpha=0.5)(h, None, labels, None)
    assert total.item() == pytest.approx(expected, rel=1e-12)


def test_hashnet_continuation_sets_model_beta():
    from semhash_lib.models import HashingNetwork, build_backbone

    net = HashingNetwork(build_backbone("features", feature_dim=4)[0], 8, activation="scaled_tanh")
    loss = HashNetLoss(bits=8, beta0=1.0, gamma=1.0, power=0.5)
    for epoch, beta in [(0, 1.0), (3, 2.0), (8, 3.0)]:
        loss.on_epoch_start(epoch, net)
        assert net.beta == pytest.approx(beta)
    x = torch.randn(2, 4)
    z = net.bottleneck(x)
    assert torch.allclose(net(x)[0], torch.tanh(3.0 * z))
    with pytest.raises(TypeError, match="beta"):
        loss.on_epoch_start(0, torch.nn.Linear(2, 2))


def test_pairwise_baselines_threshold_target_distances_without_labels():
    """Without labels, s_ij = 1[T_ij <= threshold]; T built to agree with the labels gives the same loss."""
    h, y = tensors()
    t = torch.where(y[:, None] == y[None, :], 0.1, 0.8).double()
    for loss in (DSHLoss(bits=3), DPSHLoss(), HashNetLoss(bits=3)):
        with_labels, _ = loss(h, None, y, None)
        with_targets, _ = loss(h, None, None, t)
        assert with_targets.item() == pytest.approx(with_labels.item(), rel=1e-12)
    with pytest.raises(ValueError, match="both are None"):
        DSHLoss(bits=3)(h, None, None, None)
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        DPSHLoss()(h, None, None, t[:3, :3])


def test_hadamard_centres_are_pairwise_half_the_code_length_apart():
    """Sylvester-Hadamard rows are orthogonal: Hamming distance K/2 between distinct rows of H_K,
    K between a row and its negation (Yuan et al. 2020, Algorithm 1)."""
    c = hash_centers(num_classes=32, bits=16)
    assert c.shape == (32, 16) and set(c.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(c[:16], torch.from_numpy(hadamard(16)).float())
    dist = (c[:, None, :] != c[None, :, :]).sum(-1)
    expected = np.full((32, 32), 8)
    np.fill_diagonal(expected, 0)
    for i in range(16):
        expected[i, i + 16] = expected[i + 16, i] = 16
    assert np.array_equal(dist.numpy(), expected)


@pytest.mark.parametrize("num_classes,bits", [(10, 12), (100, 16)])
def test_random_centres_when_hadamard_does_not_apply(num_classes, bits):
    """K not a power of 2, or more classes than 2K: i.i.d. fair bits (deterministic given the seed)."""
    c = hash_centers(num_classes, bits, seed=3)
    assert c.shape == (num_classes, bits) and set(c.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(c, hash_centers(num_classes, bits, seed=3))
    assert len({tuple(row) for row in c.tolist()}) == num_classes  # distinct centres
    dist = (c[:, None, :] != c[None, :, :]).sum(-1).double()
    mean_off = (dist.sum() / (num_classes * (num_classes - 1))).item()
    assert abs(mean_off - bits / 2) < 0.1 * bits  # expected distance K/2


def test_csq_equals_published_central_similarity_and_quantization():
    """L = mean BCE((h+1)/2, (c+1)/2) + λ mean log cosh(|h| - 1) with Hadamard centres of K = 4."""
    h = torch.tensor([[0.5, -0.8, 0.1, 0.9], [0.9, -0.2, -0.4, 0.3], [-0.3, 0.7, 0.6, -0.95]], dtype=torch.float64)
    labels = torch.tensor([0, 2, 5])
    had = [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]
    centres = had + [[-v for v in row] for row in had]
    lam = 0.5
    bce = quant = 0.0
    for row, y in zip(h.tolist(), labels.tolist()):
        for v, c in zip(row, centres[y]):
            p, t = (v + 1) / 2, (c + 1) / 2
            bce -= t * math.log(p) + (1 - t) * math.log(1 - p)
            quant += math.log(math.cosh(abs(v) - 1))
    expected = bce / 12 + lam * quant / 12
    total, terms = CSQLoss(bits=4, num_classes=6, lambda_q=lam)(h, None, labels, None)
    assert total.item() == pytest.approx(expected, rel=1e-10)
    square = CSQLoss(bits=4, num_classes=6, lambda_q=lam, quantization="square")(h, None, labels, None)[1]["quant"]
    assert square.item() == pytest.approx(sum((abs(v) - 1) ** 2 for row in h.tolist() for v in row) / 12)


def test_csq_stays_finite_at_saturated_codes_and_rejects_bad_input():
    loss = CSQLoss(bits=4, num_classes=3)
    h = torch.tensor([[1.0, -1.0, 1.0, 1.0], [-1.0, 1.0, 1.0, -1.0]], requires_grad=True)
    total, _ = loss(h, None, torch.tensor([0, 1]), None)
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(h.grad).all()
    with pytest.raises(ValueError, match="needs class labels"):
        loss(h, None, None, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="labels must lie"):
        loss(h, None, torch.tensor([0, 3]), None)
    with pytest.raises(ValueError, match="bits"):
        loss(torch.zeros(2, 5), None, torch.tensor([0, 1]), None)


def test_greedyhash_equals_published_objective():
    """Su et al. 2018: CE(W sign(h), y) + α mean ||h| - 1|³ (logits given here as W sign(h) by hand)."""
    h = torch.tensor(H, dtype=torch.float64)
    w = [[0.3, -0.2, 0.5], [-0.1, 0.4, 0.2], [0.2, 0.1, -0.3]]
    signs = [[1 if v >= 0 else -1 for v in row] for row in H]
    logits = [[dot(wc, s) for wc in w] for s in signs]
    ce = sum(math.log(sum(math.exp(z) for z in row)) - row[y] for row, y in zip(logits, Y)) / 4
    penalty = sum(abs(abs(v) - 1) ** 3 for row in H for v in row) / 12
    total, terms = GreedyHashLoss(alpha=0.1)(h, torch.tensor(logits, dtype=torch.float64), torch.tensor(Y), None)
    assert terms["ce"].item() == pytest.approx(ce, rel=1e-12)
    assert total.item() == pytest.approx(ce + 0.1 * penalty, rel=1e-12)


def test_greedyhash_gradient_passes_straight_through_the_sign():
    """With activation "sign_ste" the classifier sees sign(z) and dL/dz = dL/db = Wᵀ(softmax - onehot)/B."""
    from semhash_lib.models import HashingNetwork, build_backbone

    torch.manual_seed(0)
    net = HashingNetwork(build_backbone("features", feature_dim=5)[0], 3, num_classes=2, activation="sign_ste").double()
    x = torch.randn(4, 5, dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0])
    z = net.bottleneck(x).detach().requires_grad_(True)
    b = torch.where(z >= 0, 1.0, -1.0).double()
    logits = net.classifier(b)
    p = torch.softmax(logits, 1).detach()
    expected = (p - torch.nn.functional.one_hot(labels, 2).double()) @ net.classifier.weight.detach() / 4
    h, out = net(x)
    assert torch.equal(out, logits) and torch.allclose(h, z)
    h.retain_grad()
    GreedyHashLoss(alpha=0.0)(h, out, labels, None)[0].backward()
    assert torch.allclose(h.grad, expected, atol=1e-12)


def test_greedyhash_needs_logits_and_labels():
    h, y = tensors()
    with pytest.raises(ValueError, match="logits and class labels"):
        GreedyHashLoss()(h, None, y, None)
    with pytest.raises(ValueError, match="logits must be"):
        GreedyHashLoss()(h, torch.randn(3, 3), y, None)


@pytest.mark.parametrize("loss", [DSHLoss(bits=3), DPSHLoss(), HashNetLoss(bits=3), CSQLoss(bits=3, num_classes=3),
                                  GreedyHashLoss()])
def test_baselines_reject_nan_codes(loss):
    h, y = tensors()
    h[1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        loss(h, torch.randn(4, 3, dtype=torch.float64), y, None)
