"""Weights on disk: safetensors tensors + a JSON model card, verified by sha256; no pickle.

A weights file ``NAME.safetensors`` stores the network's state dict and, in its
header metadata (key ``simbench``), the method name and architecture config, so
it describes itself.  Its model card ``NAME.json`` beside it records how it was
made and the file's sha256; loading refuses a file whose bytes do not match its
card, a file that is not valid safetensors, weights of another method, and
tensors that do not fit the architecture — each with a one-line reason.

Training state for ``--resume`` is one more safetensors file: model tensors
under ``model.``, Adam moments under ``optim.<param index>.<name>``, and the
step, settings and history in its metadata.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from simbench.errors import SimbenchError

#: version of the file layout written here
FORMAT = 1
_META_KEY = "simbench"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(weights: Path) -> Path:
    """The model card beside a weights file (same stem, ``.json``)."""
    return Path(weights).with_suffix(".json")


def save_weights(path: Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    """Write ``state`` (CPU copies) with ``meta`` in the header; returns the file's sha256."""
    tensors = {key: value.detach().to("cpu").contiguous() for key, value in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps({"format": FORMAT, **meta}, sort_keys=True)})
    tmp.replace(path)
    return sha256_file(path)


def write_card(path: Path, card: dict[str, Any]) -> None:
    """Write a model card (JSON, atomically)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def read_card(weights: Path) -> dict[str, Any] | None:
    """The model card of ``weights``, or None when there is none."""
    from simbench.harness.jsonfile import read_json

    path = card_path(weights)
    if not path.exists():
        return None
    card = read_json(path, "model card")
    if not isinstance(card, dict):
        raise SimbenchError(f"{path}: not a model card (a JSON {type(card).__name__}, expected an object)")
    return card


def verify(weights: Path, card: dict[str, Any] | None, require_card: bool) -> str:
    """The file's sha256, after checking it against ``card`` (required when ``require_card``)."""
    if not weights.is_file():
        raise SimbenchError(f"weights file {weights} does not exist")
    actual = sha256_file(weights)
    if card is None:
        if require_card:
            raise SimbenchError(f"weights file {weights} has no model card {card_path(weights).name} beside it")
        return actual
    expected = card.get("sha256")
    if expected != actual:
        raise SimbenchError(f"weights file {weights} does not match its model card (sha256 {actual[:12]}… ≠ "
                            f"{str(expected)[:12]}…): the file is corrupted or was replaced; restore or retrain it")
    return actual


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state dict, metadata) of a weights file; a clear error for anything unreadable."""
    try:
        state = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise SimbenchError(f"{path} is not a readable safetensors weights file ({exc})") from None
    if _META_KEY not in header:
        raise SimbenchError(f"{path} has no simbench metadata: not a simbench weights file")
    try:
        meta = json.loads(header[_META_KEY])
    except json.JSONDecodeError as exc:
        raise SimbenchError(f"{path}: unreadable simbench metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise SimbenchError(f"{path}: weights format {str(found)[:20]!r}, this simbench reads {FORMAT}")
    return state, meta


def load_into(model: torch.nn.Module, state: dict[str, torch.Tensor], source: Path) -> None:
    """Copy ``state`` into ``model``, refusing missing, unexpected or wrongly shaped tensors."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [f"{k} {tuple(state[k].shape)} ≠ {tuple(own[k].shape)}" for k in sorted(set(own) & set(state))
             if state[k].shape != own[k].shape]
    problems = ([f"missing {', '.join(missing[:3])}"] if missing else []) + \
               ([f"unexpected {', '.join(unexpected[:3])}"] if unexpected else []) + \
               ([f"wrong shape {', '.join(wrong[:3])}"] if wrong else [])
    if problems:
        raise SimbenchError(f"weights {source} do not fit the architecture: {'; '.join(problems)}")
    model.load_state_dict(state, strict=True)


def save_training_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        meta: dict[str, Any]) -> None:
    """Model and Adam state for ``--resume``; ``meta`` (step, settings, history) must be JSON-able."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    for index, moments in opt["state"].items():
        for name, value in moments.items():
            tensors[f"optim.{index}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    save_weights(path, tensors, {**meta, "param_groups": opt["param_groups"]})


def load_training_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore what :func:`save_training_state` wrote; returns its metadata."""
    tensors, meta = read_weights(path)
    load_into(model, {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}, path)
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta
