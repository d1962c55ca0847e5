"""The loss options of every method as small typed structures (frozen dataclasses), checked where given.

``TrainConfig(method=..., loss={...})`` is checked when it is made: :func:`check_loss_options` turns the
``loss`` mapping into the method's options dataclass (:func:`options_class`), so an unknown key is an error
naming it and listing the valid ones, and a value of the wrong type is an error naming the key, the type it
must have and the value given. The nested ``sim_kwargs`` / ``kl_kwargs`` of the paper's loss are checked
the same way against :class:`SimilarityOptions` / :class:`KLOptions`. Values with a fixed set of choices
(``form``, ``nu``, ...) are then checked by the loss itself when the config builds it once.

Each dataclass is derived from the keyword arguments of the loss's constructor (or loss function) with
their annotations and defaults, so it cannot drift from the loss it configures:

- the semhash family: :class:`semhash_lib.losses.SemanticHashingLoss` (``ce``, ``sim``, ``kl``, ``quant``,
  ``sim_kwargs``, ``kl_kwargs``);
- ``sim_kwargs``: :func:`semhash_lib.losses.similarity_loss` (``form``, ``p``, ``code_distance``, ...);
- ``kl_kwargs``: :func:`semhash_lib.losses.binary_kl_loss` (``k``, ``nu``, ``num_target_samples``, ...;
  the random ``generator`` is the trainer's, not an option);
- the baselines: ``DSHLoss`` (``margin``, ``alpha``, ...), ``DPSHLoss`` (``eta``, ...), ``HashNetLoss``,
  ``CSQLoss``, ``GreedyHashLoss``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from typing import Any, Callable

from .losses import binary_kl_loss, similarity_loss

__all__ = ["LossOptionError", "options_class", "method_options", "check_loss_options", "SimilarityOptions",
           "KLOptions"]

#: arguments of a loss that are not user options: what the trainer passes (code length, classes, tensors,
#: the random generator of the KL target samples)
NOT_OPTIONS = frozenset({"self", "bits", "num_classes", "h", "target_distance", "generator"})


class LossOptionError(ValueError):
    """A loss option that is unknown or has a value of the wrong type; the message names it."""


@functools.lru_cache(maxsize=None)
def options_class(loss: Callable, name: str | None = None) -> type:
    """A frozen dataclass of the keyword options of ``loss`` (a class: its ``__init__``; or a function), with
    their annotated types and defaults; ``sim_kwargs``/``kl_kwargs`` fields are typed as the nested classes."""
    fn = loss.__init__ if inspect.isclass(loss) else loss
    hints = typing.get_type_hints(fn)
    fields = []
    for p in inspect.signature(fn).parameters.values():
        if p.name in NOT_OPTIONS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = None if p.default is inspect.Parameter.empty else p.default
        fields.append((p.name, hints.get(p.name, Any), dataclasses.field(default=default)))
    cls_name = name or f"{loss.__name__[0].upper()}{loss.__name__[1:]}Options".replace("_", "")
    return dataclasses.make_dataclass(cls_name, fields, frozen=True)


SimilarityOptions = options_class(similarity_loss, "SimilarityOptions")
KLOptions = options_class(binary_kl_loss, "KLOptions")
NESTED = {"sim_kwargs": SimilarityOptions, "kl_kwargs": KLOptions}


def method_options(method: str) -> type | None:
    """The options dataclass of ``method``'s loss (``None`` for a loss without a declared class)."""
    from .methods import get_method

    loss_cls = getattr(get_method(method).make_loss, "loss_class", None)
    return options_class(loss_cls, f"{loss_cls.__name__}Options") if loss_cls is not None else None


def _allowed(hint) -> tuple:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return tuple(a for arg in typing.get_args(hint) for a in _allowed(arg))
    return (hint,) if hint is not Any else (object,)


def _check_value(where: str, key: str, value: Any, hint, suffix: str = "") -> Any:
    allowed = _allowed(hint)
    if value is None:
        if type(None) in allowed or object in allowed:
            return None
        raise LossOptionError(f"{where}: option {key!r}{suffix} must not be null")
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value) if int not in allowed else value
    ok = any(isinstance(value, typing.get_origin(a) or a) for a in allowed if a is not type(None))
    if isinstance(value, bool) and bool not in allowed and object not in allowed:
        ok = False
    if not ok:
        names = " or ".join(getattr(a, "__name__", str(a)).replace("NoneType", "null") for a in allowed)
        raise LossOptionError(f"{where}: option {key!r}{suffix} must be {names}, got {type(value).__name__} {value!r}")
    return value


def _build(cls: type, values: dict, where: str, suffix: str = ""):
    if not isinstance(values, dict):
        raise LossOptionError(f"{where}{suffix} must be a mapping of options, got {type(values).__name__} {values!r}")
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise LossOptionError(f"{where}: unknown option(s) {unknown}{suffix}; valid: {valid}")
    hints = {f.name: f.type for f in dataclasses.fields(cls)}
    checked = {}
    for key, value in values.items():
        if key in NESTED and isinstance(value, dict):
            checked[key] = _build(NESTED[key], value, f"{where}[{key!r}]", suffix)
        else:
            checked[key] = _check_value(where, key, value, hints[key], suffix)
    return cls(**checked)


def check_loss_options(method: str, loss: dict) -> Any:
    """``loss`` (a TrainConfig's ``loss`` mapping) as an instance of ``method``'s options dataclass, nested
    options as theirs; :class:`LossOptionError` naming the method and the first bad key or value."""
    cls = method_options(method)
    if cls is None:
        if loss:
            raise LossOptionError(f"TrainConfig.loss for method {method!r}: this method takes no loss options")
        return None
    return _build(cls, dict(loss), "TrainConfig.loss", f" for method {method!r}")
