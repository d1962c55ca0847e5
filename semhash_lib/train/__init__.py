"""One training loop for every hashing method: config, checkpoints, resume, encoding.

The paper's method, its ablations and the baselines all train through :func:`train`. What differs
between them comes from the method registry (:func:`semhash_lib.methods.get_method`): the bottleneck
activation, whether a classifier head is used, and the loss.

- :mod:`.config` — :class:`TrainConfig` (``from_dict``, ``from_yaml``, ``to_dict``);
- :mod:`.loop` — :func:`train` -> :class:`TrainResult`, :class:`NonFiniteLossError`;
- :mod:`.encode` — :func:`encode` -> ``(h, codes)``;
- :mod:`.checkpoint` — atomic checkpoints with every RNG state, the run folder, history files;
- :mod:`.model` — the network for a config (:func:`build_model`);
- :mod:`.augment` — :class:`ImageInput` (normalisation inside the model), :func:`augment_batch`;
- :mod:`.optim` — :func:`lr_factor` (warm-up + cosine / step / constant), the optimizer.

The device is chosen by :func:`semhash_lib.devices.resolve_device`; :func:`train` is given its data (an
``ExperimentData``, or a function that makes one from the config: :func:`semhash_lib.experiment.prepare_data`).
"""

from .augment import ImageInput, augment_batch
from .checkpoint import CHECKPOINT_NAME, default_out_dir, load_checkpoint, save_checkpoint
from .config import RESUME_FREE_FIELDS, TrainConfig
from .encode import encode
from .loop import NonFiniteLossError, TrainResult, train, training_arrays
from .model import build_model, num_train_classes
from .optim import lr_factor, make_optimizer

__all__ = ["TrainConfig", "TrainResult", "NonFiniteLossError", "train", "encode", "build_model",
           "num_train_classes", "training_arrays", "ImageInput", "augment_batch", "lr_factor", "make_optimizer",
           "save_checkpoint", "load_checkpoint", "default_out_dir", "CHECKPOINT_NAME",
           "RESUME_FREE_FIELDS"]
