"""Class hierarchies (trees) and the lowest-common-ancestor height similarity.

A :class:`ClassHierarchy` is a rooted tree given by ``parent`` links. Classes are nodes of the tree
(usually leaves). Heights follow Barz & Denzler (WACV 2019, ``class_hierarchy.py``): a leaf has
height 0 and an inner node 1 + the largest height of its children.

**From WordNet** (:meth:`ClassHierarchy.from_wordnet`): the hypernym graph restricted to the classes'
ancestors. WordNet has multiple inheritance (e.g. ``person.n.01`` is both an organism and a causal
agent); the deterministic rule used here gives every synset the single parent that lies on its
*longest* path to the root (``max_depth`` of the hypernym + 1 = its own ``max_depth``), ties broken
by the smaller synset name. Because the rule depends on the node alone, the union of the chosen
paths is a tree. Instance hypernyms count as hypernyms.

**From Barz & Denzler's files** (:meth:`ClassHierarchy.from_parent_child`): their hand-made CIFAR-100
tree ``cifar.parent-child.txt`` (integer ids, leaves 0-99 = fine labels in official order).
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

__all__ = ["ClassHierarchy", "load_barz_hierarchy"]


class ClassHierarchy:
    """A rooted tree over hashable node ids with a list of ``classes`` (nodes, in class order)."""

    def __init__(self, parent: dict, classes: Sequence, names: Sequence[str] | None = None):
        self.parent = dict(parent)
        self.classes = list(classes)
        self.names = list(names) if names is not None else [str(c) for c in self.classes]
        nodes = set(self.parent) | set(self.parent.values()) | set(self.classes)
        roots = [n for n in nodes if n not in self.parent]
        if len(roots) != 1:
            raise ValueError(f"a class hierarchy needs exactly one root, found {len(roots)}: {sorted(map(str, roots))[:5]}")
        self.root = roots[0]
        missing = [c for c in self.classes if c not in nodes]
        if missing:
            raise ValueError(f"classes not in the tree: {missing[:5]}")
        self.children: dict = defaultdict(list)
        for c, p in self.parent.items():
            self.children[p].append(c)
        self._depth: dict = {}
        self._height: dict = {}
        self._compute_depths_and_heights(nodes)

    def _compute_depths_and_heights(self, nodes) -> None:
        order = [self.root]                      # breadth-first from the root (also detects cycles)
        self._depth[self.root] = 0
        for n in order:
            for c in self.children.get(n, ()):
                if c in self._depth:
                    raise ValueError(f"the parent links contain a cycle through {c!r}")
                self._depth[c] = self._depth[n] + 1
                order.append(c)
        if len(order) != len(nodes):
            raise ValueError("some nodes are not connected to the root")
        for n in reversed(order):
            kids = self.children.get(n, ())
            self._height[n] = 1 + max(self._height[c] for c in kids) if kids else 0

    # -- structure ----------------------------------------------------------------------------------
    def depth(self, node) -> int:
        """Number of edges from the root."""
        return self._depth[node]

    def height(self, node=None) -> int:
        """0 for a leaf, 1 + max height of the children otherwise; ``node=None``: the tree's height."""
        return self._height[self.root if node is None else node]

    def ancestors(self, node) -> list:
        """``node`` and its ancestors up to the root (``node`` first)."""
        out = [node]
        while out[-1] in self.parent:
            out.append(self.parent[out[-1]])
        return out

    def lca(self, a, b):
        """Lowest common ancestor of two nodes."""
        anc = set(self.ancestors(a))
        for n in self.ancestors(b):
            if n in anc:
                return n
        raise AssertionError("a tree always has a common ancestor")

    def to_parent_child(self) -> list[tuple]:
        """The tree as sorted (parent, child) pairs."""
        return sorted(((p, c) for c, p in self.parent.items()), key=lambda e: (str(e[0]), str(e[1])))

    # -- similarity ---------------------------------------------------------------------------------
    def similarity_matrix(self, measure: str = "lca_height") -> np.ndarray:
        """C x C class similarity on this tree (float64, symmetric, diagonal 1, values in [0, 1]).

        - ``"lca_height"``: s(a, b) = 1 − height(lca(a, b)) / height(root) (Barz & Denzler; the
          similarity behind mAHP and, by inference, the paper's targets: ``docs/paper.md`` §4.3);
        - ``"wup"``: Wu–Palmer on the tree, 2·depth(lca) / (depth(a) + depth(b)) with depths counted
          from 1 at the root;
        - ``"path"``: 1 / (1 + number of edges on the tree path between a and b).

        Vectorised: the LCA of every pair is the deepest node of the intersection of the two classes'
        ancestor sets (a C x N boolean matrix), computed in row blocks.
        """
        if measure not in ("lca_height", "wup", "path"):
            raise ValueError(f"unknown measure {measure!r}; use 'lca_height', 'wup' or 'path'")
        nodes = list(self._depth)
        index = {n: k for k, n in enumerate(nodes)}
        depth = np.array([self._depth[n] for n in nodes])
        height = np.array([self._height[n] for n in nodes], dtype=np.float64)
        C, N = len(self.classes), len(nodes)
        A = np.zeros((C, N), dtype=bool)                      # A[i, k]: node k is class i or an ancestor of it
        rows = [(i, index[a]) for i, c in enumerate(self.classes) for a in self.ancestors(c)]
        A[tuple(np.array(rows).T)] = True
        lca = np.empty((C, C), dtype=np.int64)
        block = max(1, int(2e7) // max(1, C * N))
        for start in range(0, C, block):                      # blocks of rows, not samples
            common = A[start:start + block, None, :] & A[None, :, :]
            lca[start:start + block] = np.argmax(np.where(common, depth, -1), axis=2)
        d_cls = depth[[index[c] for c in self.classes]]
        if measure == "lca_height":
            H = self.height()
            S = 1.0 - height[lca] / H if H > 0 else np.ones((C, C))
        elif measure == "wup":
            S = 2.0 * (depth[lca] + 1) / ((d_cls[:, None] + 1) + (d_cls[None, :] + 1))
        else:
            S = 1.0 / (1.0 + d_cls[:, None] + d_cls[None, :] - 2 * depth[lca])
        S = np.asarray(S, dtype=np.float64)
        np.fill_diagonal(S, 1.0)
        return S

    def collapse_chains(self) -> "ClassHierarchy":
        """The same tree without chains: every inner node that is not a class and has a single child is
        removed (its child hangs from its parent), and so are single-child nodes above the classes' LCA.

        Heights in the collapsed tree count only the nodes that remain (branching nodes and classes), which
        makes WordNet's deep, chain-rich tree comparable with Barz & Denzler's shallow hand-made one.
        """
        classes = set(self.classes)
        keep = {n for n in self._depth if n in classes or len(self.children.get(n, ())) >= 2}
        parent = {}
        for n in keep:
            p = self.parent.get(n)
            while p is not None and p not in keep:
                p = self.parent.get(p)
            if p is not None:
                parent[n] = p
        return ClassHierarchy(parent, self.classes, self.names)

    # -- constructors -------------------------------------------------------------------------------
    @classmethod
    def from_wordnet(cls, synsets: Iterable, names: Sequence[str] | None = None, wn=None) -> "ClassHierarchy":
        """The WordNet hypernym tree over ``synsets`` (nltk Synsets or synset names), rule in the module doc."""
        if wn is None:
            from ..resources import wordnet
            wn = wordnet()
        syns = [wn.synset(s) if isinstance(s, str) else s for s in synsets]
        if len({s.name() for s in syns}) != len(syns):
            raise ValueError("two classes map to the same synset")
        parent: dict[str, str] = {}
        todo = list(syns)
        seen = set()
        while todo:
            s = todo.pop()
            if s.name() in seen:
                continue
            seen.add(s.name())
            hyper = s.hypernyms() + s.instance_hypernyms()
            if not hyper:
                continue
            best = max(hyper, key=lambda h: (h.max_depth(), [-ord(ch) for ch in h.name()]))
            parent[s.name()] = best.name()
            todo.append(best)
        return cls(parent, [s.name() for s in syns], names)

    @classmethod
    def from_parent_child(cls, path: str | os.PathLike, num_classes: int | None = None,
                          names_path: str | os.PathLike | None = None) -> "ClassHierarchy":
        """A tree from a ``parent child`` integer-pair file (Barz & Denzler's format).

        Classes are the ids ``0 .. num_classes-1`` (default: all leaves, sorted); names from an optional
        ``id name`` file.
        """
        parent: dict[int, int] = {}
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    p, c = (int(x) for x in line.split()[:2])
                except ValueError:
                    raise ValueError(f"{path}:{lineno}: expected two integer ids 'parent child', got {line!r}") from None
                if c in parent and parent[c] != p:
                    raise ValueError(f"{path}:{lineno}: node {c} has two parents ({parent[c]} and {p}); not a tree")
                parent[c] = p
        if num_classes is None:
            inner = set(parent.values())
            classes = sorted(n for n in parent if n not in inner)
        else:
            classes = list(range(num_classes))
        names = None
        if names_path is not None:
            table = {}
            with open(names_path) as f:
                for line in f:
                    if line.strip():
                        i, _, n = line.strip().partition(" ")
                        table[int(i)] = n.strip()
            names = [table.get(c, str(c)) for c in classes]
        return cls(parent, classes, names)


def load_barz_hierarchy(root: str | os.PathLike | None = None) -> ClassHierarchy:
    """Barz & Denzler's CIFAR-100 tree (``hierarchies/cifar100``: ``cifar.parent-child.txt``, ``class_names.txt``)."""
    from ..paths import find_dataset_dir

    d = find_dataset_dir(["hierarchies/cifar100", "cifar100"], ["cifar.parent-child.txt"], root,
                         how_to_get="Get it from https://github.com/cvjena/semantic-embeddings "
                                    "(CIFAR-Hierarchy/cifar.parent-child.txt, class_names.txt).")
    names = d / "class_names.txt"
    return ClassHierarchy.from_parent_child(d / "cifar.parent-child.txt", 100, names if names.exists() else None)
