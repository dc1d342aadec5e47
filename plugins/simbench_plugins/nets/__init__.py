"""Torch networks of the learned plugins (imported only when a model is built)."""
