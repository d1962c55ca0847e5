"""semhash: a runnable companion to Arponen & Bishop (2020),
*Learning to hash with semantic similarity metrics and empirical KL divergence* (arXiv:2005.04917).

Modules, one concept each:

- :mod:`semhash_lib.resources` — WordNet, the sentence encoder and pretrained weights, offline first.
- :mod:`semhash_lib.data` — CIFAR-100, Fashion-MNIST, ImageNet folders, COCO / Conceptual Captions.
- :mod:`semhash_lib.targets` — semantic similarity targets (WordNet hierarchy, sentence embeddings).
- :mod:`semhash_lib.models` — the hashing network and its backbones.
- :mod:`semhash_lib.losses` — similarity loss, empirical KL divergence, baselines.
- :mod:`semhash_lib.methods` — registry: method name -> (model options, loss).
- :mod:`semhash_lib.retrieval` — bit packing and exact Hamming search.
- :mod:`semhash_lib.metrics` — mAP@k, mAHP@k, precision curves, code statistics.
- :mod:`semhash_lib.train` — one training loop for every method, checkpoints, encoding.
- :mod:`semhash_lib.plotting` — the paper's figures.
- :mod:`semhash_lib.book` — the executed notebooks and the docs as an HTML book that reads offline.
"""

__version__ = "0.1.0"
