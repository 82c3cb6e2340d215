"""Faster builds of a model's own weights for CPU inference, made at load time.

The bundled Rampart model ships as 4-bit ``MatMulNBits`` layers only. Two builds of exactly
those weights run faster on a CPU (benchmarks/ner_variants.py measures them):

- ``int8_compute``: the same 4-bit layers set to compute in int8 (``accuracy_level=4``);
  about 1.2x faster, the same labels;
- ``int8_weights``: the 4-bit values turned back into float matrices, then re-quantized to
  8 bits per output channel (``onnxruntime.quantization.quantize_dynamic``) so every layer
  runs as an integer matrix product; about 1.5x faster than the bundled file, and on the dev
  set within a few tenths of a point of its recall and precision (docs/ner.md). A float
  model (e.g. one exported by tools/export_onnx.py) is quantized the same way.

Building ``int8_weights`` takes a few seconds, so the result is cached on disk under
``$ANONYMIZE_PROXY_CACHE_DIR`` (default ``$XDG_CACHE_HOME/anonymize-proxy`` or
``~/.cache/anonymize-proxy``), keyed by the source file's SHA-256, the recipe and the ONNX
Runtime version. Where that folder cannot be written, each load builds it again in memory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

RECIPE = "int8-per-channel-v1"  # change it when int8_weights changes, to rebuild caches
CACHE_ENV = "ANONYMIZE_PROXY_CACHE_DIR"


def default_cache_dir() -> Path:
    """Where built models are kept (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "anonymize-proxy"


def with_int8_compute(file: Path) -> bytes:
    """The model with its 4-bit ``MatMulNBits`` layers set to compute in int8."""
    import onnx  # only needed for these builds
    from onnx import helper

    model = onnx.load(str(file))
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            kept = [a for a in node.attribute if a.name != "accuracy_level"]
            del node.attribute[:]
            node.attribute.extend([*kept, helper.make_attribute("accuracy_level", 4)])
    return model.SerializeToString()


def int8_weights(file: Path, cache_dir: Path | None = None) -> bytes:
    """The model with 8-bit per-channel weights in every matrix product, from the cache when
    it was built before (``cache_dir`` defaults to ``default_cache_dir()``)."""
    source = file.read_bytes()
    key = hashlib.sha256(source + RECIPE.encode() + onnxruntime.__version__.encode())
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    cached = folder / f"{file.stem}-{key.hexdigest()[:24]}.onnx"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    built = _quantize_int8(source)
    _store(cached, built)
    return built


def _store(cached: Path, data: bytes) -> None:
    """Write atomically (a concurrent loader reads a whole file or none); a folder that
    cannot be written (a read-only home) only means building again next time."""
    temp: str | None = None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".tmp", delete=False) as out:
            temp = out.name
            out.write(data)
        os.chmod(temp, 0o644)  # built at image build time, read by the service's user
        os.replace(temp, cached)
    except OSError:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)


def _quantize_int8(source: bytes) -> bytes:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = float_matmuls(onnx.load_from_string(source))
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its advice to pre-process the model is noise here
    try:
        with tempfile.TemporaryDirectory() as folder:
            src, dst = Path(folder) / "float.onnx", Path(folder) / "int8.onnx"
            onnx.save(model, str(src))
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul"], per_channel=True)
            return dst.read_bytes()
    finally:
        quiet.setLevel(level)


def float_matmuls(model: Any) -> Any:
    """Every 4-bit ``MatMulNBits`` node of an ``onnx.ModelProto`` as a float ``MatMul`` with
    the dequantized weights (in place; returns the model). Float models pass unchanged."""
    from onnx import helper, numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    nodes = []
    dropped: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "MatMulNBits":
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        ins = list(node.input) + [""] * 6
        if ins[4] or ins[5]:
            raise ValueError("MatMulNBits with g_idx or bias is not handled")
        weights = dequantize_matmul_nbits(
            numpy_helper.to_array(inits[ins[1]]), numpy_helper.to_array(inits[ins[2]]),
            numpy_helper.to_array(inits[ins[3]]) if ins[3] else None,
            attrs["K"], attrs["N"], attrs["bits"], attrs["block_size"])
        name = node.name + "_float_weight"
        model.graph.initializer.append(numpy_helper.from_array(weights, name))
        dropped.update(i for i in ins[1:4] if i)
        nodes.append(helper.make_node("MatMul", [ins[0], name], list(node.output),
                                      name=node.name + "_float"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    kept = [t for t in model.graph.initializer if t.name not in dropped]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model


def dequantize_matmul_nbits(weights: np.ndarray, scales: np.ndarray,
                            zero_points: np.ndarray | None, k: int, n: int, bits: int,
                            block_size: int) -> np.ndarray:
    """MatMulNBits' packed ``B`` -> the float ``[K, N]`` matrix a plain MatMul multiplies by.

    Layout (com.microsoft MatMulNBits): ``B[n, block, byte]``, two 4-bit values a byte, low
    nibble first; ``scales[n * blocks + block]``; zero point 8 when none is given.
    """
    if bits != 4:
        raise ValueError(f"only 4-bit MatMulNBits is handled, not {bits}-bit")
    blocks = weights.shape[1]
    low, high = weights & 0x0F, weights >> 4
    q = np.stack([low, high], axis=-1).reshape(n, blocks, block_size).astype(np.float32)
    if zero_points is None:
        zp = np.full((n, blocks, 1), 8.0, dtype=np.float32)
    elif zero_points.dtype == np.uint8:
        packed = zero_points.reshape(n, -1)
        both = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(n, -1)[:, :blocks]
        zp = both.astype(np.float32)[..., None]
    else:
        zp = zero_points.astype(np.float32).reshape(n, blocks, 1)
    w = (q - zp) * scales.astype(np.float32).reshape(n, blocks, 1)
    return np.ascontiguousarray(w.reshape(n, blocks * block_size)[:, :k].T)
