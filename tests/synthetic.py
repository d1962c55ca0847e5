"""A small labelled feature set with a two-level class hierarchy, for tests that train and evaluate in seconds."""

import torch

from semhash_lib import experiment as E


def synthetic_data(n_per_class=24, n_test_per_class=6, dim=16, seed=0, test_shift=0.0) -> E.ExperimentData:
    """Six classes in two superclasses, Gaussian clusters; similarity 1 / 0.5 / 0 (same / sibling / other).
    ``test_shift`` moves the test split away (to check that a computation never reads it)."""
    g = torch.Generator().manual_seed(seed)
    C = 6
    centres = 3 * torch.randn(C, dim, generator=g)

    def draw(n):
        y = torch.arange(C).repeat_interleave(n)
        return centres[y] + torch.randn(len(y), dim, generator=g), y

    xtr, ytr = draw(n_per_class)
    xte, yte = draw(n_test_per_class)
    sup = torch.tensor([0, 0, 0, 1, 1, 1])
    S = torch.where(sup[:, None] == sup[None, :], 0.5, 0.0)
    S.fill_diagonal_(1.0)
    return E.ExperimentData(dataset="synthetic", input="features", x_train=xtr, y_train=ytr, x_test=xte + test_shift,
                            y_test=yte, class_names=[f"c{i}" for i in range(C)], class_similarity=S)
