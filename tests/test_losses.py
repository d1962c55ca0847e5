"""The paper's losses against independent truths: analytic Gaussian KL, brute-force formulas written out
with plain Python loops, hand-derived gradients, and the behaviours the paper claims for each term."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from semhash_lib.losses import (QuantizationPenalty, SemanticHashingLoss, binary_kl_loss, empirical_kl,
                                quantization_penalty, sample_binary_targets, similarity_loss)
from semhash_lib.losses.empirical_kl import kl_entropy, mixture_cross_entropy

torch.set_num_threads(2)


def gaussian_kl(mu_shift: float, s1: float, s2: float, d: int) -> float:
    """KL(N(mu1, s1^2 I) || N(mu2, s2^2 I)) in d dims, |mu1 - mu2| = mu_shift (textbook closed form)."""
    return d / 2 * (s1 ** 2 / s2 ** 2 - 1 + 2 * math.log(s2 / s1)) + mu_shift ** 2 / (2 * s2 ** 2)


def gaussian_pair(mu_shift, s1, s2, n=4000, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * s1
    y = torch.randn(n, d, generator=g, dtype=torch.float64) * s2
    y[:, 0] += mu_shift
    return x, y


# ------------------------------------------------------------------------------------------------
# empirical_kl
# ------------------------------------------------------------------------------------------------

# The k-NN estimator converges slowly when P has heavier tails than Q (few Q samples where P lives), so
# the analytic checks use s1 <= s2, the regime the binary-target loss is in (codes inside the cube).
@pytest.mark.parametrize("mu_shift,s1,s2", [(0.5, 1, 1), (1.0, 1, 1), (2.0, 1, 1.5), (0.0, 1, 2), (1.0, 0.5, 1)])
def test_empirical_kl_matches_analytic_gaussian_kl(mu_shift, s1, s2):
    x, y = gaussian_pair(mu_shift, s1, s2)
    true = gaussian_kl(mu_shift, s1, s2, d=4)
    est = empirical_kl(x, y).item()
    assert abs(est - true) <= 0.1 + 0.15 * true, (est, true)


def test_empirical_kl_with_k3_matches_analytic():
    x, y = gaussian_pair(1.5, 1, 1.2, seed=3)
    true = gaussian_kl(1.5, 1, 1.2, d=4)
    assert abs(empirical_kl(x, y, k=3).item() - true) <= 0.1 + 0.15 * true


def test_empirical_kl_is_near_zero_for_one_distribution():
    x, y = gaussian_pair(0.0, 1.0, 1.0, seed=5)
    assert abs(empirical_kl(x, y).item()) < 0.1


def test_empirical_kl_equals_brute_force_formula():
    """Wang-Kulkarni-Verdu Eq. (5) written out with Python loops over all points."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    y = torch.randn(5, 3, generator=g, dtype=torch.float64)
    xs, ys = x.tolist(), y.tolist()
    for k in (1, 2):
        total = 0.0
        for i, xi in enumerate(xs):
            rho = sorted(math.dist(xi, xj) for j, xj in enumerate(xs) if j != i)[k - 1]
            nu = sorted(math.dist(xi, yj) for yj in ys)[k - 1]
            total += math.log(nu + 1e-8) - math.log(rho + 1e-8)
        expected = 3 / 7 * total + math.log(5 / 6)
        assert empirical_kl(x, y, k=k).item() == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_empirical_kl_gradient_equals_hand_derivation():
    """d/dx_a of (d/n) sum_i log nu_i - log rho_i, with nearest neighbours fixed (eps = 0)."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 2, generator=g, dtype=torch.float64)
    y = torch.randn(4, 2, generator=g, dtype=torch.float64)
    xr = x.clone().requires_grad_(True)
    empirical_kl(xr, y, eps=0.0).backward()
    n, d = 6, 2
    xs, ys = x.tolist(), y.tolist()
    grad = [[0.0, 0.0] for _ in range(n)]
    for i, xi in enumerate(xs):
        j = min((j for j in range(n) if j != i), key=lambda j: math.dist(xi, xs[j]))
        t = min(range(len(ys)), key=lambda t: math.dist(xi, ys[t]))
        rho2, nu2 = math.dist(xi, xs[j]) ** 2, math.dist(xi, ys[t]) ** 2
        for c in range(d):
            grad[i][c] += d / n * (xi[c] - ys[t][c]) / nu2      # + log nu_i
            grad[i][c] -= d / n * (xi[c] - xs[j][c]) / rho2     # - log rho_i, w.r.t. x_i
            grad[j][c] += d / n * (xi[c] - xs[j][c]) / rho2     # - log rho_i, w.r.t. its neighbour x_j
    assert torch.allclose(xr.grad, torch.tensor(grad, dtype=torch.float64), atol=1e-10)


def test_empirical_kl_is_invariant_to_permuting_samples():
    x, y = gaussian_pair(1.0, 1.0, 1.3, n=500, seed=7)
    g = torch.Generator().manual_seed(8)
    a = empirical_kl(x, y)
    b = empirical_kl(x[torch.randperm(500, generator=g)], y[torch.randperm(500, generator=g)])
    assert a.item() == pytest.approx(b.item(), abs=1e-10)


def test_empirical_kl_gradients_are_finite_even_with_duplicate_points():
    g = torch.Generator().manual_seed(9)
    x = torch.randn(50, 8, generator=g)
    x[1] = x[0]  # an exact duplicate: rho = 0
    x.requires_grad_(True)
    y = torch.randn(60, 8, generator=g)
    out = empirical_kl(x, y, k=2)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(x.grad).all()


def test_empirical_kl_batched_equals_one_by_one():
    g = torch.Generator().manual_seed(10)
    x = torch.randn(3, 40, 5, generator=g, dtype=torch.float64)
    y = torch.randn(3, 30, 5, generator=g, dtype=torch.float64)
    batched = empirical_kl(x, y, k=2)
    assert batched.shape == (3,)
    for b in range(3):
        assert batched[b].item() == pytest.approx(empirical_kl(x[b], y[b], k=2).item(), abs=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_empirical_kl_on_cuda_equals_cpu():
    x, y = gaussian_pair(1.0, 1.0, 1.0, n=1000)
    assert empirical_kl(x.cuda(), y.cuda()).item() == pytest.approx(empirical_kl(x, y).item(), abs=1e-8)


def test_empirical_kl_rejects_bad_input():
    x, y = torch.randn(10, 3), torch.randn(10, 3)
    with pytest.raises(ValueError, match="n >= k"):
        empirical_kl(x[:2], y, k=2)
    with pytest.raises(ValueError, match="sample dimension"):
        empirical_kl(x, torch.randn(10, 4))
    with pytest.raises(ValueError, match="k must be"):
        empirical_kl(x, y, k=0)
    with pytest.raises(TypeError, match="floating"):
        empirical_kl(x.long(), y)
    bad = x.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        empirical_kl(bad, y)


# ------------------------------------------------------------------------------------------------
# binary_kl_loss
# ------------------------------------------------------------------------------------------------

def test_binary_targets_are_fresh_uniform_corners():
    g = torch.Generator().manual_seed(0)
    t1 = sample_binary_targets(4000, 16, generator=g)
    t2 = sample_binary_targets(4000, 16, generator=g)
    assert set(t1.unique().tolist()) == {-1.0, 1.0}
    assert not torch.equal(t1, t2)                      # drawn fresh
    assert t1.mean(0).abs().max() < 0.06                # fair bits (4 sigma = 0.063 at n = 4000)
    corr = torch.corrcoef(t1.T) - torch.eye(16)
    assert corr.abs().max() < 0.07                      # independent bits
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(sample_binary_targets(4000, 16, generator=g2), t1)  # reproducible
    noisy = sample_binary_targets(4000, 4, target="noisy_corners", noise_std=0.1, generator=g)
    assert (noisy - noisy.sign()).std().item() == pytest.approx(0.1, rel=0.05)


def spread_around_corners(seed: int, n: int = 256, bits: int = 16, p_plus: float = 0.7):
    """Imbalanced (70 % of bits +1), noisy points around the corners of the cube."""
    g = torch.Generator().manual_seed(seed)
    corners = torch.where(torch.rand(n, bits, generator=g) < p_plus, 1.0, -1.0)
    return (corners * 0.6 + 0.25 * torch.randn(n, bits, generator=g)).clamp(-0.99, 0.99), g


def quantization_error(h):
    return (h.abs() - 1).pow(2).mean().item()


def sign_imbalance(h):
    """Mean over bits of |fraction(+1) - fraction(-1)|: 0 for perfectly balanced bits."""
    return torch.where(h >= 0, 1.0, -1.0).mean(0).abs().mean().item()


def _descend_from_imbalance(steps=100, **kwargs):
    h0, g = spread_around_corners(seed=0)
    h = h0.clone().requires_grad_(True)
    opt = torch.optim.Adam([h], lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        binary_kl_loss(h, generator=g, **kwargs).backward()
        opt.step()
        with torch.no_grad():
            h.clamp_(-1, 1)
    return h0, h.detach()


@pytest.mark.parametrize("kwargs", [{"nu": "nearest_corner"}, {"nu": "sampled"},
                                    {"nu": "sampled", "target": "noisy_corners", "symmetric": True}, {"nu": "grouped"},
                                    {"nu": "mixture", "sigma": 0.5}])
def test_binary_kl_gradient_steps_binarise_and_balance_the_codes(kwargs):
    """The two effects the paper claims for the KL term: codes move toward ±1 and bits toward balance
    (from 70 % of the bits at +1)."""
    h0, h = _descend_from_imbalance(**kwargs)
    assert quantization_error(h) < 0.9 * quantization_error(h0)
    assert sign_imbalance(h) < sign_imbalance(h0) - 0.005


def test_mixture_at_the_default_sigma_binarises_fast_and_keeps_the_signs_it_starts_with():
    """A limit of the default (docs/reconstruction.md, "The KL term at many bits"): at sigma = 0.25 the exact
    cross-entropy pulls every output to its own mode within 100 steps (quantization error 0.22 -> < 0.01), so
    the entropy term has no time to flip bits and a 70 / 30 imbalance stays; at sigma = 0.5 it rebalances."""
    h0, h = _descend_from_imbalance()
    assert quantization_error(h) < 0.01
    assert abs(sign_imbalance(h) - sign_imbalance(h0)) < 0.01
    assert sign_imbalance(_descend_from_imbalance(nu="mixture", sigma=0.5)[1]) < sign_imbalance(h0) - 0.05


def test_binary_kl_per_bit_divides_by_the_code_length():
    h, _ = spread_around_corners(seed=1, n=64, bits=12)
    a = binary_kl_loss(h, per_bit=True, generator=torch.Generator().manual_seed(3))
    b = binary_kl_loss(h, per_bit=False, generator=torch.Generator().manual_seed(3))
    assert b.item() == pytest.approx(12 * a.item(), rel=1e-6)


def test_binary_kl_nearest_corner_limit_formula():
    """nu = distance to sign(h): (1/n) sum_i log(||h_i - sign h_i|| / rho_i), by hand for 3 points."""
    h = torch.tensor([[0.5, -0.5], [0.9, 0.8], [-0.2, 0.1]], dtype=torch.float64)
    pts = h.tolist()
    total = 0.0
    for i, p in enumerate(pts):
        corner = [1.0 if v >= 0 else -1.0 for v in p]
        rho = min(math.dist(p, q) for j, q in enumerate(pts) if j != i)
        total += math.log(math.dist(p, corner) + 1e-8) - math.log(rho + 1e-8)
    got = binary_kl_loss(h, nu="nearest_corner").item()
    assert got == pytest.approx(total / 3, rel=1e-10)  # per bit: (K/n sum) / K


@pytest.mark.parametrize("bits,group_bits,k", [(7, 3, 1), (8, 4, 2), (5, 5, 3)])
def test_binary_kl_grouped_equals_the_sum_of_per_group_estimates(bits, group_bits, k):
    """nu='grouped' = (1/K) sum over a random partition of the bits into groups of g of empirical_kl(h_G, t_G)
    against 4n fresh g-bit corners per group, each group with its own dimension (the last one smaller)."""
    n = 40
    h = torch.randn(n, bits, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    gen = torch.Generator().manual_seed(11)
    got = binary_kl_loss(h, nu="grouped", group_bits=group_bits, k=k, generator=gen).item()
    gen = torch.Generator().manual_seed(11)                 # replay the same draws, one group at a time
    perm = torch.randperm(bits, generator=gen)
    n_groups, m = math.ceil(bits / group_bits), 4 * n
    corners = torch.randint(0, 2, (n_groups * m, group_bits), generator=gen).double() * 2 - 1
    k_used = max(1, n // 2 ** group_bits) if k == 1 else k
    total = 0.0
    for gi in range(n_groups):
        cols = perm[gi * group_bits:(gi + 1) * group_bits]
        t = corners[gi * m:(gi + 1) * m, :len(cols)]
        total += empirical_kl(h[:, cols], t, k=k_used).item()
    assert got == pytest.approx(total / bits, rel=1e-9)


def _free_output_toy(bits, **kl_kwargs):
    from semhash_lib.toy import binarization_statistics, optimise_free_outputs

    h = optimise_free_outputs(lambda x: binary_kl_loss(x, **kl_kwargs), bits, n=256, steps=300, lr=0.02)
    return binarization_statistics(h)


@pytest.mark.parametrize("variant", [{}, {"nu": "nearest_corner"}], ids=["default", "nearest_corner"])
@pytest.mark.parametrize("bits", [16, 32, 64])
def test_default_kl_binarizes_balances_and_decorrelates_at_many_bits(bits, variant):
    """The acceptance toy of docs/reconstruction.md: 256 free outputs h ~ 0.3 N(0,1), KL term alone, Adam 0.02,
    300 steps. The default (the mixture variant) and the nearest-corner one must binarise (quantization error
    < 0.2, under 5% of |h| < 0.1) while every bit stays balanced (|mean sign| < 0.3) and bits stay
    uncorrelated (mean |r| within 1.5x chance, 0.05)."""
    from semhash_lib.toy import chance_correlation

    st = _free_output_toy(bits, **variant)
    assert st["quant_error"] < 0.2
    assert st["near_zero"] < 0.05
    assert st["max_sign_balance"] < 0.3
    assert st["mean_abs_corr"] < 1.5 * chance_correlation(256)


def test_sampled_kl_does_not_binarize_at_32_bits():
    """Why the default changed: with m = n = 256 sampled corners of 2^32, the nearest sampled corner disagrees
    with sign(h) in about half the bits, so the same toy leaves the outputs far from the corners."""
    assert _free_output_toy(32, nu="sampled")["quant_error"] > 0.4


@pytest.mark.slow
@pytest.mark.parametrize("bits", [16, 64])
def test_grouped_kl_meets_the_same_criteria(bits):
    from semhash_lib.toy import chance_correlation

    st = _free_output_toy(bits, nu="grouped")
    assert st["quant_error"] < 0.2 and st["near_zero"] < 0.05 and st["max_sign_balance"] < 0.3
    assert st["mean_abs_corr"] < 1.5 * chance_correlation(256)


# ------------------------------------------------------------------------------------------------
# the decomposition KL = -H(P) + H(P, Q) with a known mixture target ("mixture"), and the spread control
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("d,s", [(1, 0.5), (2, 1.0), (3, 2.0)])
def test_kl_entropy_matches_the_gaussian_entropy(d, s):
    """Kozachenko-Leonenko on N(0, s^2 I_d): H = d/2 log(2 pi e s^2) (textbook)."""
    x = s * torch.randn(6000, d, generator=torch.Generator().manual_seed(d), dtype=torch.float64)
    exact = d / 2 * math.log(2 * math.pi * math.e * s * s)
    assert kl_entropy(x, k=3).item() == pytest.approx(exact, abs=0.04 * d)


def test_mixture_cross_entropy_equals_the_density_written_out():
    """-log q(x) per coordinate from the two Gaussian densities themselves, summed over dimensions."""
    x = torch.tensor([[0.0, 1.0, -1.3], [0.7, -0.2, 2.5]], dtype=torch.float64)
    for sigma in (0.25, 0.5, 1.0):
        def q(v):
            n = lambda m: math.exp(-(v - m) ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
            return 0.5 * n(1.0) + 0.5 * n(-1.0)
        want = sum(-sum(math.log(q(v)) for v in row) for row in x.tolist()) / len(x)
        assert mixture_cross_entropy(x, sigma).item() == pytest.approx(want, rel=1e-10)
    # large |x| / sigma^2 stays finite (the log cosh is evaluated stably)
    assert torch.isfinite(mixture_cross_entropy(torch.tensor([[400.0]]), 0.1))


def test_mixture_kl_of_the_target_against_itself_is_near_zero():
    """Samples of Q itself: KL(Q || Q) = 0 up to the estimator's error; a wider P has a clearly positive KL."""
    g = torch.Generator().manual_seed(0)
    sigma, n, d = 0.3, 4000, 2
    t = (torch.randint(0, 2, (n, d), generator=g) * 2 - 1).double() + sigma * torch.randn(n, d, generator=g).double()
    assert abs(binary_kl_loss(t, k=3, nu="mixture", sigma=sigma).item()) < 0.02
    wide = torch.randn(n, d, generator=g, dtype=torch.float64)
    assert binary_kl_loss(wide, k=3, nu="mixture", sigma=sigma).item() > 0.5


def test_mixture_pull_fades_at_the_corners_through_tanh():
    """Per pre-activation a with h = tanh(a): the mixture's gradient vanishes as codes saturate (like every
    other term's through tanh'), while the nearest-corner term's log ||h - sign h|| keeps pulling."""
    def grad_at(scale, nu):
        g = torch.Generator().manual_seed(1)
        a = (torch.where(torch.rand(256, 32, generator=g) < 0.5, 1.0, -1.0) * scale
             + 0.3 * torch.randn(256, 32, generator=g)).requires_grad_(True)
        binary_kl_loss(torch.tanh(a), k=3, nu=nu).backward()
        return a.grad.abs().mean().item()
    assert grad_at(6.0, "mixture") < 1e-3 * grad_at(1.0, "mixture")
    assert grad_at(6.0, "nearest_corner") > 0.5 * grad_at(1.0, "nearest_corner")


def test_mixture_kl_binds_unbounded_outputs_to_the_corners():
    """Free outputs that start far outside the cube (scale 5, quantization error ~ 10): the mixture's
    cross-entropy pulls them back to the corners; what remains is about the target's own spread sigma^2
    (KL is minimal at P = Q, which scatters each bit N(+-1, sigma^2))."""
    from semhash_lib.toy import optimise_free_outputs

    sigma = 0.25
    h0 = optimise_free_outputs(lambda x: x.sum() * 0, 16, n=256, steps=0, init_scale=5.0)
    h = optimise_free_outputs(lambda x: binary_kl_loss(x, nu="mixture", k=3, sigma=sigma), 16, n=256, steps=300,
                              lr=0.05, init_scale=5.0)
    assert quantization_error(h0) > 5.0
    assert quantization_error(h) < 4 * sigma ** 2
    assert 0.9 < h.abs().mean().item() < 1.25


def test_spread_is_the_negative_entropy_estimate_per_bit():
    h, _ = spread_around_corners(seed=4, n=64, bits=8)
    assert binary_kl_loss(h, nu="spread", k=2).item() == pytest.approx(-kl_entropy(h, k=2).item() / 8, rel=1e-9)
    assert binary_kl_loss(h, k=2).item() == binary_kl_loss(h, nu="mixture", k=2).item()     # the default
    mixture = binary_kl_loss(h, nu="mixture", k=2, sigma=0.5).item()
    assert mixture == pytest.approx((-kl_entropy(h, k=2) + mixture_cross_entropy(h, 0.5)).item() / 8, rel=1e-9)


def test_binary_kl_rejects_bad_input():
    h, _ = spread_around_corners(seed=2, n=16, bits=4)
    with pytest.raises(ValueError, match="unknown KL target"):
        binary_kl_loss(h, nu="sampled", target="gaussian")
    with pytest.raises(ValueError, match="nu mode"):
        binary_kl_loss(h, nu="exact")
    with pytest.raises(ValueError, match="nu='sampled'"):
        binary_kl_loss(h, symmetric=True)
    with pytest.raises(ValueError, match="nu='sampled'"):
        binary_kl_loss(h, target="noisy_corners")
    with pytest.raises(ValueError, match="group_bits"):
        binary_kl_loss(h, nu="grouped", group_bits=0)
    with pytest.raises(ValueError, match="sigma"):
        binary_kl_loss(h, nu="mixture", sigma=0.0)
    with pytest.raises(ValueError, match="own target density"):
        binary_kl_loss(h, nu="mixture", target="noisy_corners")
    with pytest.raises(ValueError, match="2-d"):
        binary_kl_loss(h[0])
    bad = h.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        binary_kl_loss(bad)


# ------------------------------------------------------------------------------------------------
# similarity_loss
# ------------------------------------------------------------------------------------------------

def random_codes(b=10, k=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.where(torch.rand(b, k, generator=g) < 0.5, 1.0, -1.0).double()


def hamming(codes):
    return (codes[:, None, :] != codes[None, :, :]).sum(-1).double()


@pytest.mark.parametrize("form", ["relative", "softmax"])
def test_similarity_loss_is_zero_when_code_distances_are_a_multiple_of_targets(form):
    codes = random_codes()
    target = 0.37 * hamming(codes) / 16                     # T proportional to Hamming distance
    assert similarity_loss(codes, target, form=form, tau_target=0.2, tau_code=0.2).item() == pytest.approx(0, abs=1e-9)
    g = torch.Generator().manual_seed(4)
    h = torch.randn(9, 5, generator=g, dtype=torch.float64)
    l2 = torch.tensor([[math.dist(a, b) for b in h.tolist()] for a in h.tolist()], dtype=torch.float64)
    assert similarity_loss(h, 0.1 * l2, form=form, code_distance="l2").item() == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("form,code_distance", list(itertools.product(["relative", "softmax"],
                                                                  ["hamming_relaxed", "cosine", "l2"])))
def test_similarity_loss_is_invariant_to_scaling_targets(form, code_distance):
    g = torch.Generator().manual_seed(5)
    h = torch.tanh(torch.randn(12, 8, generator=g, dtype=torch.float64))
    t = torch.rand(12, 12, generator=g, dtype=torch.float64)
    t = (t + t.T) / 2
    t.fill_diagonal_(0)
    base = similarity_loss(h, t, form=form, code_distance=code_distance)
    assert base.item() > 1e-3
    scaled = similarity_loss(h, 0.2 * t, form=form, code_distance=code_distance)
    assert scaled.item() == pytest.approx(base.item(), rel=1e-9)
    if code_distance in ("l2", "cosine"):  # code distances scale with h (l2) or ignore its scale (cosine)
        assert similarity_loss(3.0 * h, t, form=form, code_distance=code_distance).item() == pytest.approx(
            base.item(), rel=1e-9)


def test_similarity_loss_relative_equals_brute_force():
    g = torch.Generator().manual_seed(6)
    h = torch.tanh(torch.randn(5, 4, generator=g, dtype=torch.float64))
    t = torch.rand(5, 5, generator=g, dtype=torch.float64)
    t = (t + t.T) / 2
    hs, ts = h.tolist(), t.tolist()
    pairs = [(i, j) for i in range(5) for j in range(5) if i != j]
    d = {(i, j): 0.5 * (4 - sum(a * b for a, b in zip(hs[i], hs[j]))) for i, j in pairs}
    mean_d = sum(d.values()) / len(pairs)
    mean_t = sum(ts[i][j] for i, j in pairs) / len(pairs)
    for p in (1, 2):
        expected = sum(abs(d[i, j] / mean_d - ts[i][j] / mean_t) ** p for i, j in pairs) / len(pairs)
        assert similarity_loss(h, t, p=p).item() == pytest.approx(expected, rel=1e-10)


def test_similarity_loss_softmax_equals_brute_force():
    g = torch.Generator().manual_seed(7)
    h = torch.tanh(torch.randn(4, 3, generator=g, dtype=torch.float64))
    t = torch.rand(4, 4, generator=g, dtype=torch.float64)
    hs, ts = h.tolist(), t.tolist()
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    d = {(i, j): math.dist(hs[i], hs[j]) for i, j in pairs}
    md, mt = sum(d.values()) / 12, sum(ts[i][j] for i, j in pairs) / 12
    total = 0.0
    for i in range(4):
        others = [j for j in range(4) if j != i]
        zq = sum(math.exp(-ts[i][j] / mt / 0.3) for j in others)
        zp = sum(math.exp(-d[i, j] / md / 0.5) for j in others)
        for j in others:
            q = math.exp(-ts[i][j] / mt / 0.3) / zq
            p = math.exp(-d[i, j] / md / 0.5) / zp
            total += q * math.log(q / p)
    got = similarity_loss(h, t, form="softmax", code_distance="l2", tau_target=0.3, tau_code=0.5)
    assert got.item() == pytest.approx(total / 4, rel=1e-10)


@pytest.mark.parametrize("form,code_distance", list(itertools.product(["relative", "softmax"],
                                                                  ["hamming_relaxed", "cosine", "l2"])))
def test_similarity_gradient_fixes_a_misordered_pair(form, code_distance):
    """Targets: 0 is close to 1 and far from 2; codes: 0 is far from 1 and close to 2. A gradient step
    must shrink d(0,1) - d(0,2)."""
    from semhash_lib.losses import code_distances

    h = torch.tensor([[0.6, 0.5, -0.4, 0.3], [-0.5, 0.4, 0.5, -0.3], [0.5, 0.6, -0.3, 0.2],
                      [-0.4, -0.6, 0.2, 0.5]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[0, 0.1, 0.9, 0.6], [0.1, 0, 0.8, 0.6], [0.9, 0.8, 0, 0.6], [0.6, 0.6, 0.6, 0]],
                     dtype=torch.float64)
    d0 = code_distances(h.detach(), code_distance)
    assert d0[0, 1] > d0[0, 2]  # mis-ordered
    similarity_loss(h, t, form=form, code_distance=code_distance).backward()
    with torch.no_grad():
        d1 = code_distances(h - 0.05 * h.grad / h.grad.abs().max(), code_distance)
    assert (d1[0, 1] - d1[0, 2]) < (d0[0, 1] - d0[0, 2])


def test_similarity_loss_with_all_targets_equal_asks_for_equal_distances():
    """A one-class batch (all T = 0) behaves like any constant T: relative targets are all 1."""
    h = torch.tanh(torch.randn(6, 5, generator=torch.Generator().manual_seed(8), dtype=torch.float64))
    zeros = torch.zeros(6, 6, dtype=torch.float64)
    const = torch.full((6, 6), 0.4, dtype=torch.float64).fill_diagonal_(0)
    a, b = similarity_loss(h, zeros), similarity_loss(h, const)
    assert torch.isfinite(a) and a.item() == pytest.approx(b.item(), rel=1e-12)


def test_similarity_loss_rejects_bad_input():
    h = torch.tanh(torch.randn(5, 4))
    t = torch.rand(5, 5)
    with pytest.raises(ValueError, match=r"\(5, 5\)"):
        similarity_loss(h, torch.rand(4, 4))
    with pytest.raises(ValueError, match="unknown similarity form"):
        similarity_loss(h, t, form="triplet")
    with pytest.raises(ValueError, match="unknown code_distance"):
        similarity_loss(h, t, code_distance="manhattan")
    with pytest.raises(ValueError, match="p must be"):
        similarity_loss(h, t, p=0)
    with pytest.raises(ValueError, match="at least 2"):
        similarity_loss(h[:1], t[:1, :1])
    bad_t = t.clone()
    bad_t[1, 2] = float("nan")
    with pytest.raises(ValueError, match="target_distance contains NaN"):
        similarity_loss(h, bad_t)
    bad_h = h.clone()
    bad_h[0, 0] = float("nan")
    with pytest.raises(ValueError, match="h contains NaN"):
        similarity_loss(bad_h, t)


# ------------------------------------------------------------------------------------------------
# SemanticHashingLoss and the quantization penalty
# ------------------------------------------------------------------------------------------------

def test_quantization_penalty_by_hand():
    h = torch.tensor([[0.5, -1.0], [0.0, 2.0]])
    expected = ((0.5 - 1) ** 2 + 0 + 1 + 1) / 4
    assert quantization_penalty(h).item() == pytest.approx(expected)
    total, terms = QuantizationPenalty(weight=3.0)(h, None, None, None)
    assert total.item() == pytest.approx(3 * expected) and terms["quant"].item() == pytest.approx(expected)


def test_semantic_hashing_loss_is_the_weighted_sum_of_its_terms():
    g = torch.Generator().manual_seed(11)
    h = torch.tanh(torch.randn(6, 8, generator=g, dtype=torch.float64))
    logits = torch.randn(6, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    t = (labels[:, None] != labels[None, :]).double()
    loss = SemanticHashingLoss(ce=0.7, sim=1.3, kl=0.2, quant=0.5)
    total, terms = loss(h, logits, labels, t)
    assert set(terms) == {"ce", "sim", "kl", "quant"}
    ce = sum(math.log(sum(math.exp(v) for v in row)) - row[y] for row, y in zip(logits.tolist(), labels.tolist())) / 6
    assert terms["ce"].item() == pytest.approx(ce, rel=1e-10)
    assert terms["quant"].item() == pytest.approx(sum((abs(v) - 1) ** 2 for row in h.tolist() for v in row) / 48)
    expected = 0.7 * terms["ce"] + 1.3 * terms["sim"] + 0.2 * terms["kl"] + 0.5 * terms["quant"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    assert all(not v.requires_grad for v in terms.values())


def test_semantic_hashing_loss_skips_ce_without_labels_and_zero_weight_terms():
    h = torch.tanh(torch.randn(6, 8, requires_grad=True))
    t = torch.rand(6, 6)
    total, terms = SemanticHashingLoss(ce=1.0, sim=1.0, kl=0.0)(h, None, None, t)
    assert set(terms) == {"sim"}
    assert total.item() == pytest.approx(terms["sim"].item())
    total.backward()


def test_semantic_hashing_loss_rejects_bad_input():
    h = torch.tanh(torch.randn(6, 8))
    with pytest.raises(ValueError, match="target_distance"):
        SemanticHashingLoss()(h, None, None, None)
    with pytest.raises(ValueError, match="must be a number >= 0"):
        SemanticHashingLoss(kl=-1.0)
    with pytest.raises(ValueError, match="all loss weights are 0"):
        SemanticHashingLoss(ce=0, sim=0, kl=0, quant=0)
    with pytest.raises(ValueError, match="labels must lie"):
        SemanticHashingLoss(sim=0, kl=0)(h, torch.randn(6, 3), torch.tensor([0, 1, 2, 3, 0, 1]), None)
    with pytest.raises(ValueError, match="no loss term"):
        SemanticHashingLoss(sim=0, kl=0)(h, None, None, None)
