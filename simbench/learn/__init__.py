"""Learned reconstruction methods: the machinery they share.

- :mod:`simbench.learn.method`: :class:`LearnedMethod` (the contract) and :class:`TrainingRecipe`;
- :mod:`simbench.learn.data`: normalisation, frame order, the training pool;
- :mod:`simbench.learn.train`: the training loop (``simbench train``);
- :mod:`simbench.learn.checkpoint`: safetensors weights + JSON model cards, verified by sha256;
- :mod:`simbench.learn.tiling`: tiled, batched inference and the device choice.
- :mod:`simbench.learn.shifts`: shift averaging (a reconstruction made equivariant to translations).

Importing this package imports no torch; the submodules that need it do.
"""
from __future__ import annotations

from simbench.learn.method import LearnedMethod, TrainingRecipe, weights_env

__all__ = ["LearnedMethod", "TrainingRecipe", "weights_env"]
