"""The methods registry: every method builds a model and a loss that train (finite gradients) on a tiny
batch; names, errors, label requirements, overrides; and a short training run on clustered synthetic data
showing the behaviours the paper's terms are for (semantic order of code distances; binarisation)."""

from __future__ import annotations

import pytest
import torch

from semhash_lib.methods import METHODS, MethodSpec, get_method
from semhash_lib.models import HashingNetwork, build_backbone, sign_codes

torch.set_num_threads(2)

DESIGN_NAMES = {"semhash", "semhash_no_kl", "semhash_quant", "classification", "dsh", "dpsh", "hashnet", "csq",
                "greedyhash"}


def build(name, bits=16, num_classes=4, dim=10):
    spec = get_method(name)
    net = HashingNetwork(build_backbone("features", feature_dim=dim)[0], bits,
                         num_classes=num_classes if spec.use_classifier else None, activation=spec.activation)
    return spec, net, spec.make_loss(bits=bits, num_classes=num_classes)


def tiny_batch(b=12, dim=10, num_classes=4, seed=0):
    """Features near one-hot class directions; targets 0 same class, 0.5 same superclass (pairs), 1 else."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(b) % num_classes
    x = torch.randn(b, dim, generator=g) + 2 * torch.nn.functional.one_hot(labels, dim).float()
    sup = labels // 2
    t = torch.ones(b, b)
    t[sup[:, None] == sup[None, :]] = 0.5
    t[labels[:, None] == labels[None, :]] = 0.0
    return x, labels, t


def test_registry_has_the_design_names_and_valid_specs():
    assert DESIGN_NAMES <= set(METHODS)
    for name, spec in METHODS.items():
        assert isinstance(spec, MethodSpec) and spec.name == name and spec.description
        assert spec.activation in ("tanh", "none", "scaled_tanh", "sign_ste")


def test_get_method_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError) as err:
        get_method("resnet_hash")
    assert "semhash" in str(err.value) and "greedyhash" in str(err.value)
    with pytest.raises(ValueError):
        get_method("nope")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_trains_with_finite_gradients(name):
    torch.manual_seed(0)
    spec, net, loss = build(name)
    x, labels, t = tiny_batch()
    if hasattr(loss, "on_epoch_start"):
        loss.on_epoch_start(2, net)
    h, logits = net(x)
    total, terms = loss(h, logits, labels, t)
    assert total.ndim == 0 and torch.isfinite(total)
    assert terms and all(torch.isfinite(v) and not v.requires_grad for v in terms.values())
    total.backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", sorted(n for n, s in METHODS.items() if not s.needs_labels))
def test_label_free_methods_train_from_target_distances_only(name):
    spec, net, loss = build(name)
    x, _, t = tiny_batch()
    h, logits = net(x)
    total, _ = loss(h, logits, None, t)
    total.backward()
    assert torch.isfinite(total)


def test_methods_needing_classes_say_so():
    for name in ("csq", "greedyhash"):
        with pytest.raises(ValueError, match="num_classes"):
            get_method(name).make_loss(bits=16, num_classes=None)
    with pytest.raises(ValueError, match="bits"):
        get_method("semhash").make_loss(bits=0, num_classes=4)


def test_overrides_reach_the_loss():
    loss = get_method("semhash").make_loss(bits=16, num_classes=4, kl=0.0, sim_kwargs={"form": "softmax"})
    _, net, _ = build("semhash")
    x, labels, t = tiny_batch()
    _, terms = loss(*net(x), labels, t)
    assert set(terms) == {"ce", "sim"}
    assert get_method("hashnet").make_loss(bits=16, alpha=0.5).alpha == 0.5
    assert set(get_method("semhash_quant").make_loss(bits=16)(torch.tanh(torch.randn(6, 16)), None, None,
                                                               torch.rand(6, 6))[1]) == {"sim", "quant"}


def clustered(n_per, seed, dim=32, classes=8):
    """8 classes in 4 superclasses (pairs); fixed class centres, fresh noise per seed."""
    g0 = torch.Generator().manual_seed(123)
    sup = torch.randn(classes // 2, dim, generator=g0)
    centres = sup.repeat_interleave(2, 0) + 0.6 * torch.randn(classes, dim, generator=g0)
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(classes).repeat_interleave(n_per)
    return centres[y] + 0.8 * torch.randn(len(y), dim, generator=g), y


def train_features(name, epochs=25, bits=16, seed=0):
    torch.manual_seed(seed)
    x, y = clustered(40, seed=1)
    spec = get_method(name)
    net = HashingNetwork(build_backbone("features", feature_dim=32)[0], bits,
                         num_classes=8 if spec.use_classifier else None, activation=spec.activation)
    loss = spec.make_loss(bits=bits, num_classes=8)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sim = torch.full((8, 8), 0.0)
    sup = torch.arange(8) // 2
    sim[sup[:, None] == sup[None, :]] = 0.5
    sim.fill_diagonal_(1.0)
    for epoch in range(epochs):
        if hasattr(loss, "on_epoch_start"):
            loss.on_epoch_start(epoch, net)
        order = torch.randperm(len(y))
        for i in range(0, len(y), 64):
            idx = order[i:i + 64]
            h, logits = net(x[idx])
            total, _ = loss(h, logits, y[idx], 1 - sim[y[idx]][:, y[idx]])
            opt.zero_grad()
            total.backward()
            opt.step()
    xt, yt = clustered(10, seed=2)
    with torch.no_grad():
        h, _ = net(xt)
    return h, yt


@pytest.mark.slow
def test_semhash_codes_follow_the_semantic_order():
    """After training, mean Hamming distance: same class < same superclass < unrelated classes."""
    h, y = train_features("semhash")
    b = sign_codes(h)
    ham = (b[:, None, :] != b[None, :, :]).sum(-1).float()
    same = (y[:, None] == y[None, :]) & ~torch.eye(len(y), dtype=torch.bool)
    sup = ((y[:, None] // 2) == (y[None, :] // 2)) & (y[:, None] != y[None, :])
    other = (y[:, None] // 2) != (y[None, :] // 2)
    assert ham[same].mean() < ham[sup].mean() < ham[other].mean()
    assert (h.abs() > 0.5).float().mean() > 0.8  # near-binary outputs
