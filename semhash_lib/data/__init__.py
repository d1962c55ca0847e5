"""Datasets of the paper's experiments, read offline first (search order in :mod:`semhash_lib.paths`).

- :func:`load_arrays` — CIFAR-100 / Fashion-MNIST splits in memory (the fast path), with
  :class:`ArrayDataset` and :func:`dataset_stats` (published normalisation statistics);
- :class:`ImageFolderDataset` — ImageNet-style ``<root>/<wnid>/*.JPEG`` (any subset of classes),
  :func:`imagenet_class_index`; :func:`load_imagenet` — ``<root>/train/<wnid>/`` and ``<root>/val/<wnid>/``
  (:mod:`.imagenet`: ImageNet-100, Barz & Denzler's tree :func:`read_imagenet_tree`);
- :class:`CocoCaptions`, :func:`load_coco_captions` — COCO captions JSON + image folder;
- :class:`ConceptualCaptions` — the ``caption<TAB>url`` TSV with locally downloaded images, or an img2dataset
  download alone (:meth:`ConceptualCaptions.from_img2dataset`); :func:`download_conceptual_captions`
  (:mod:`.download`) fetches the images with img2dataset;
- :func:`decode_images`, :class:`ImageFiles` — image files decoded in batches to a network's input size.

Image convention everywhere: a ``torch.uint8`` tensor ``(C, H, W)`` (RGB, or grey for
Fashion-MNIST), given to ``transform`` when one is set (see :mod:`semhash_lib.data.images`).
An explicit ``root`` is the only place a loader looks (``root=None`` searches the data path); missing data
raise :class:`~semhash_lib.paths.DataNotFoundError` naming every place looked at;
truncated or corrupt files raise :class:`~semhash_lib.paths.DataFormatError` naming the file.
"""

from ..paths import DataFormatError, DataNotFoundError
from .arrays import DATASET_NAMES, ArrayDataset, canonical_name, dataset_stats, load_arrays
from .cifar import find_cifar100, load_cifar100, read_cifar100_binary, read_cifar100_pickle
from .coco import CocoCaptions, coco_captions, load_coco_captions
from .conceptual_captions import (ConceptualCaptions, find_conceptual_captions_download, read_conceptual_captions_tsv,
                                  read_img2dataset_folder, sample_captions)
from .download import download_conceptual_captions
from .fashion_mnist import FASHION_MNIST_CLASSES, find_fashion_mnist, load_fashion_mnist
from .idx import read_idx
from .imagefolder import ImageFolderDataset, imagenet_class_index
from .imagenet import IMAGENET100_CMC, find_imagenet, load_imagenet, read_imagenet_tree
from .images import IMAGE_EXTENSIONS, ImageFiles, decode_images, load_image, load_image_resized

__all__ = ["load_arrays", "ArrayDataset", "dataset_stats", "canonical_name", "DATASET_NAMES",
           "ImageFolderDataset", "imagenet_class_index", "CocoCaptions", "load_coco_captions", "coco_captions",
           "ConceptualCaptions", "read_conceptual_captions_tsv", "read_img2dataset_folder", "sample_captions",
           "find_conceptual_captions_download",
           "download_conceptual_captions", "load_imagenet", "find_imagenet", "read_imagenet_tree", "IMAGENET100_CMC",
           "ImageFiles", "decode_images", "load_image_resized", "load_cifar100", "find_cifar100",
           "read_cifar100_binary", "read_cifar100_pickle", "load_fashion_mnist", "find_fashion_mnist",
           "FASHION_MNIST_CLASSES", "read_idx", "load_image", "IMAGE_EXTENSIONS", "DataNotFoundError",
           "DataFormatError"]
