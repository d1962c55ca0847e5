"""Build the frozen-feature caches of a reproduce run while its first notebooks run.

Notebooks 00-02 need no trained network (toys, WordNet, sentence targets), and notebook 03 starts by extracting
the frozen features of every image it trains and evaluates on (``semhash_lib.features``; the quick profile:
~3 of its 15 minutes from a cold cache). ``semhash reproduce`` therefore starts one background process that
calls :func:`semhash_lib.experiment.prepare_data` on every feature configuration of the planned notebooks
(:func:`feature_configs`) and waits for it before the first notebook that trains (:func:`needs_data`). The
process writes exactly the cache files the notebooks would write (the same keys), atomically, so the
notebooks then only load them; if it fails, the notebook builds the cache itself and reports any error there.

    python -m semhash_lib.experiment.prefetch CONFIGS.json     # a JSON list of TrainConfig mappings
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

__all__ = ["feature_configs", "needs_data", "Prefetch", "start_prefetch"]

_DATA_FIELDS = ("dataset", "input", "feature_extractor", "feature_resolution", "feature_stage", "train_subset",
                "test_subset", "similarity", "similarity_measure")


def _configs_in(value: Any) -> Iterator[dict]:
    """Every mapping under a key ending in ``config`` (``config``, ``caption_config``, ``fashion_mnist.config``)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if key.endswith("config") and isinstance(sub, dict):
                yield sub
            else:
                yield from _configs_in(sub)


def needs_data(params: dict) -> bool:
    """Whether a notebook with these parameters trains or loads a network (it has a training configuration)."""
    return any(True for _ in _configs_in(params))


def feature_configs(plans: list[tuple[Any, dict]]) -> list[dict]:
    """The distinct training configurations (as mappings) of the planned notebooks that train on cached frozen
    features, one per set of data-determining fields."""
    seen, out = set(), []
    for _, params in plans:
        for cfg in _configs_in(params):
            if cfg.get("input") != "features":
                continue
            key = tuple(json.dumps(cfg.get(f), sort_keys=True, default=str) for f in _DATA_FIELDS)
            if key not in seen:
                seen.add(key)
                out.append(cfg)
    return out


class Prefetch:
    """A running background cache build: :meth:`wait` joins it and says how it went."""

    def __init__(self, process: subprocess.Popen, log: Path):
        self.process, self.log, self.t0 = process, log, time.perf_counter()

    def wait(self) -> bool:
        """Block until the build has finished; ``True`` when it succeeded (a failure is reported, not raised: the
        notebook then builds what is missing and names any error)."""
        code = self.process.wait()
        seconds = time.perf_counter() - self.t0
        if code == 0:
            print(f"[semhash] feature caches ready ({seconds:.0f} s in the background; log: {self.log})", flush=True)
            return True
        print(f"[semhash] warning: the background feature-cache build failed (exit {code}; log: {self.log}); "
              "the notebook builds the caches itself", flush=True)
        return False

    def stop(self) -> None:
        """Terminate the build (what it finished is cached; an unfinished extraction resumes from its last
        checkpoint next time)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_prefetch(plans: list[tuple[Any, dict]], workdir: Path | None = None) -> Prefetch | None:
    """Start the background build for ``plans`` (``(notebook, parameters)`` pairs in run order) when it can
    overlap something: some notebook needs features, and a notebook that needs no data runs before the first
    that does. ``None`` otherwise. The configurations and the log go to ``workdir`` (default: the cache's
    ``prefetch`` folder, ``data/cache/prefetch``)."""
    from ..io import cache_dir

    first = next((i for i, (_, p) in enumerate(plans) if needs_data(p)), None)
    configs = feature_configs(plans)
    if first is None or first == 0 or not configs:
        return None
    workdir = Path(workdir) if workdir is not None else cache_dir("prefetch")
    workdir.mkdir(parents=True, exist_ok=True)
    spec, log = workdir / "prefetch_configs.json", workdir / "prefetch.log"
    spec.write_text(json.dumps(configs, default=str))
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "semhash_lib.experiment.prefetch", str(spec)],
                                   stdout=out, stderr=subprocess.STDOUT)
    print(f"[semhash] building {len(configs)} feature cache(s) in the background while the first notebooks run "
          f"(log: {log})", flush=True)
    return Prefetch(process, log)


def main(argv: list[str]) -> int:
    from ..train import TrainConfig
    from .data import prepare_data

    configs = json.loads(Path(argv[0]).read_text())
    for cfg in configs:
        t0 = time.perf_counter()
        config = TrainConfig.from_dict(cfg).effective()
        prepare_data(config, progress=True)
        print(f"{config.dataset} {config.feature_extractor} {config.feature_resolution}px: "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
