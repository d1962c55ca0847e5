"""The trainer's optimiser computes the same floats as torch's per-tensor loop, only faster."""

import pytest
import torch

from semhash_lib.train import TrainConfig, make_optimizer


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_multi_tensor_step_equals_the_per_tensor_loop_bit_for_bit(optimizer):
    cfg = TrainConfig(dataset="toy", input="features", bits=16, optimizer=optimizer, lr=3e-3, weight_decay=1e-3,
                      momentum=0.9, device="cpu")

    def trained(use_library: bool):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(40, 64), torch.nn.ReLU(), torch.nn.Linear(64, 16))
        if use_library:
            opt = make_optimizer(model, cfg)
            assert all(g["foreach"] for g in opt.param_groups)
        else:   # torch's CPU default: the per-tensor loop
            cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[optimizer]
            extra = {"momentum": 0.9} if optimizer == "sgd" else {}
            opt = cls(model.parameters(), lr=3e-3, weight_decay=1e-3, foreach=False, **extra)
        g = torch.Generator().manual_seed(1)
        for _ in range(20):
            h = model(torch.randn(32, 40, generator=g))
            opt.zero_grad()
            h.pow(3).mean().backward()
            opt.step()
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(trained(True), trained(False))
