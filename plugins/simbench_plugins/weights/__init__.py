"""Shipped weights of the learned plugins: ``<method>-<config>.safetensors``, its model card
``.json`` (sha256, training command, settings, validation scores) and its ``.log``."""
