"""Seeded fuzzing of every reader of user-reachable files: results (records, sample files, earlier
single files), TIFF images, weights and model cards.  720 malformed inputs; each must be read or
refused with one :class:`SimbenchError` line naming the file — never another exception."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from simbench.errors import SimbenchError
from simbench.harness import results, store
from simbench.harness.leaderboard import render

#: inputs per seed file (each kind of file has several seed files)
PER_SEED = 40
STRUCTURAL = [None, 0, -1, 1e308, "x", "", [], [[]], {}, {"schema": None}, True, {"row": []}, {"samples": 3}]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damage: truncation, flipped or inserted bytes, invalid UTF-8, a wrong JSON value
    at a random key, deep nesting, or nothing at all."""
    kind = rng.randrange(7)
    if kind == 0:
        return data[: rng.randrange(len(data))]
    if kind == 1:
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == 2:
        at = rng.randrange(len(data))
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[at:]
    if kind == 3:
        return b"\xff\xfe" + data[2:]
    if kind == 4:
        return (b"[" * rng.choice([10, 100000])) + data
    if kind == 5:
        return _replace_value(data, rng)
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))


def _replace_value(data: bytes, rng: random.Random) -> bytes:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return data[::-1]
    paths, stack = [], [(obj, ())]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append(where + (k,))
                stack.append((v, where + (k,)))
    if not paths:
        return json.dumps(rng.choice(STRUCTURAL)).encode()
    target = rng.choice(paths)
    node = obj
    for k in target[:-1]:
        node = node[k]
    node[target[-1]] = rng.choice(STRUCTURAL)
    return json.dumps(obj).encode()


def _one_line(exc: SimbenchError, path: Path) -> None:
    text = str(exc)
    assert "\n" not in text and str(path) in text, text


ROW = {"id": "s-0000", "status": "ok", "error": None, "scores": {"psnr": 20.5, "mse": float("nan")},
       "runtime_s": 0.1, "digest": "0" * 64, "info": {}, "meta": {"pool": "test"}, "reference": {}}
RECORD = {"method": "m", "suite": "static", "size": "quick", "seed": 0, "n_samples": 1, "complete": True,
          "metrics": {"psnr": {"direction": "higher", "unit": "dB"}, "mse": {"direction": "lower", "unit": ""}},
          "metric_config": {"convention": "normalised"}, "created": "2026-01-01T00:00:00+00:00"}


def _store_files(root: Path) -> dict[str, Path]:
    rec = results.new_record(root, "quick", {**RECORD, "samples": {"s-0000": dict(ROW)}})
    rec.save()
    legacy = root / "static" / "old.json"
    legacy.write_text(json.dumps({"schema_version": 1, "runs": {"quick": {**RECORD, "method": "old",
                                                                          "samples": {"s-0000": ROW}}}}))
    return {"header": rec.path / store.HEADER, "sample": next((rec.path / store.SAMPLES).glob("*.json")),
            "legacy": legacy}


def test_result_files(tmp_path):
    rng = random.Random(20261203)
    cases = 0
    for kind in ("header", "sample", "legacy"):
        for _ in range(PER_SEED * 2):
            root = tmp_path / f"case{cases}"
            files = _store_files(root)
            files[kind].write_bytes(_mutate(files[kind].read_bytes(), rng))
            found = results.scan(root)  # never raises: the damaged file is a problem line
            assert all("\n" not in p for p in found.problems)
            untouched = "m" if kind == "legacy" else "old"
            assert untouched in {r.data["method"] for r in found.records}  # the good file is never hidden
            render(root, None, "plain", {})  # what was read renders
            cases += 1
    assert cases == 240


def _tiffs(where: Path) -> list[Path]:
    from simbench.io import write_image

    import tifffile

    rng = np.random.default_rng(0)
    write_image(where / "stack.tif", rng.random((9, 32, 32), dtype=np.float32), 86.7)
    write_image(where / "image.tif", rng.random((64, 64), dtype=np.float32), 43.35, z_step_nm=None)
    tifffile.imwrite(where / "plain.tif", (rng.random((5, 16, 16)) * 1000).astype(np.uint16))
    return [where / "stack.tif", where / "image.tif", where / "plain.tif"]


def test_tiff_images(tmp_path):
    from simbench.io import read_image

    rng = random.Random(7)
    cases = 0
    for seed in _tiffs(tmp_path):
        good = seed.read_bytes()
        for i in range(PER_SEED * 2):
            path = tmp_path / f"bad{cases}.tif"
            path.write_bytes(_mutate(good, rng))
            try:
                read_image(path)
            except SimbenchError as exc:
                _one_line(exc, path)
            cases += 1
    assert cases == 240


def test_weights_and_model_cards(tmp_path):
    torch = pytest.importorskip("torch")
    from simbench.learn.checkpoint import read_card, read_weights, save_weights

    rng = random.Random(11)
    good = tmp_path / "good.safetensors"
    save_weights(good, {"w": torch.ones(4, 4), "b": torch.zeros(4)}, {"method": "m", "config": {}})
    card = json.dumps({"sha256": "0" * 64, "method": "m", "steps": 10}).encode()
    cases = 0
    for i in range(PER_SEED * 4):
        path = tmp_path / f"bad{i}.safetensors"
        path.write_bytes(_mutate(good.read_bytes(), rng))
        try:
            read_weights(path)
        except SimbenchError as exc:
            _one_line(exc, path)
        cases += 1
    for i in range(PER_SEED * 2):
        path = tmp_path / f"card{i}.safetensors"
        path.with_suffix(".json").write_bytes(_mutate(card, rng))
        try:
            read_card(path)
        except SimbenchError as exc:
            _one_line(exc, path.with_suffix(".json"))
        cases += 1
    assert cases == 240
