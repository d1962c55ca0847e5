"""Each method's loss options are a typed dataclass derived from its loss, checked when a config is made."""

import dataclasses
import inspect

import pytest

from semhash_lib.loss_options import (KLOptions, LossOptionError, SimilarityOptions, check_loss_options,
                                      method_options)
from semhash_lib.losses import binary_kl_loss, similarity_loss
from semhash_lib.methods import METHODS


def _keyword_defaults(fn, skip=("self", "bits", "num_classes", "h", "target_distance", "generator")) -> dict:
    return {p.name: p.default for p in inspect.signature(fn).parameters.values() if p.name not in skip}


@pytest.mark.parametrize("name", list(METHODS))
def test_options_are_the_loss_constructors_keywords_with_their_defaults(name):
    cls = method_options(name)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    expected = _keyword_defaults(METHODS[name].make_loss.loss_class.__init__)
    got = {f.name: f.default for f in dataclasses.fields(cls)}
    assert got == {k: (None if v is inspect.Parameter.empty else v) for k, v in expected.items()}


def test_nested_options_follow_the_similarity_and_kl_functions():
    assert {f.name: f.default for f in dataclasses.fields(SimilarityOptions)} == _keyword_defaults(similarity_loss)
    assert {f.name: f.default for f in dataclasses.fields(KLOptions)} == _keyword_defaults(binary_kl_loss)


@pytest.mark.parametrize("name", list(METHODS))
def test_every_tuned_loss_option_is_an_option_of_its_method(name):
    """The search spaces of ``semhash tune`` only name options the method's dataclass has."""
    fields = {f.name for f in dataclasses.fields(method_options(name))}
    for key in METHODS[name].search_space:
        parts = key.split(".")
        if parts[0] != "loss":
            continue
        assert parts[1] in fields, key
        if len(parts) == 3:
            nested = {"sim_kwargs": SimilarityOptions, "kl_kwargs": KLOptions}[parts[1]]
            assert parts[2] in {f.name for f in dataclasses.fields(nested)}, key


def test_check_returns_typed_values_and_names_bad_ones():
    opts = check_loss_options("semhash", {"kl": 1, "kl_kwargs": {"k": 3, "nu": "sampled"}})
    assert opts.kl == 1.0 and isinstance(opts.kl, float)
    assert isinstance(opts.kl_kwargs, KLOptions) and opts.kl_kwargs.k == 3 and opts.kl_kwargs.nu == "sampled"
    assert check_loss_options("dsh", {"margin": None}).margin is None      # float | None
    with pytest.raises(LossOptionError, match=r"unknown option\(s\) \['kl'\] for method 'dsh'; valid: \['margin'"):
        check_loss_options("dsh", {"kl": 0.1})
    with pytest.raises(LossOptionError, match=r"option 'eta' for method 'dpsh' must be float, got bool True"):
        check_loss_options("dpsh", {"eta": True})
    with pytest.raises(LossOptionError, match=r"\['kl_kwargs'\]: option 'nu' for method 'semhash' must be str, got int 3"):
        check_loss_options("semhash", {"kl_kwargs": {"nu": 3}})
