"""Export a local sentence-transformers model to ONNX once, and keep it in a local cache folder.

sentence-transformers' own ``backend="onnx"`` needs optimum-onnx, which cannot be installed beside
transformers 5, so the graph is exported here with ``torch.onnx.export`` from the local weights,
fused with ONNX Runtime's transformer optimizer, and stored under
``$QA_INSIGHTS_CACHE_DIR/onnx`` (default ``$XDG_CACHE_HOME/qa_insights/onnx`` or
``~/.cache/qa_insights/onnx``), keyed by the weights' sha256. Files are written to a temporary
name and renamed, so concurrent processes never see half a file; a JSON manifest beside each file
holds its sha256, which is checked on every load.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

from .._base import sha256_file

__all__ = ["onnx_cache_dir", "ensure_onnx_model", "ONNX_VARIANTS", "EXPORT_FORMAT"]

logger = logging.getLogger(__name__)

#: bumped when the exported graph changes, so that older cached files are not reused
EXPORT_FORMAT = 1
_OPSET = 17

#: variant name -> what it is; all take ``input_ids`` / ``attention_mask`` (int64) and return the
#: last hidden state (batch, seq, dim) in float32
ONNX_VARIANTS = {
    "fp32": "fp32 graph with fused attention / layer-norm / GELU kernels (exact GELU)",
    "int8-dynamic": "fp32 graph with int8 weights and per-batch dynamic activation scales",
}


def onnx_cache_dir() -> Path:
    """Folder holding exported ONNX models (``$QA_INSIGHTS_CACHE_DIR/onnx`` if set)."""
    root = os.environ.get("QA_INSIGHTS_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "onnx"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "qa_insights" / "onnx"


def ensure_onnx_model(model_dir: Path, weights_sha256: str, variant: str = "fp32",
                      cache_dir: Path | None = None) -> tuple[Path, float]:
    """Path of the ONNX file for ``model_dir`` / ``variant``, exporting it first if needed.

    Parameters
    ----------
    model_dir : Path
        Local sentence-transformers (Hugging Face transformers) model directory.
    weights_sha256 : str
        sha256 of the model's weight file: the cache key.
    variant : str
        A key of :data:`ONNX_VARIANTS`.
    cache_dir : Path, optional
        Defaults to :func:`onnx_cache_dir`.

    Returns
    -------
    path : Path
        A verified ONNX file.
    export_seconds : float
        Time spent exporting in this call (0.0 when the cached file was used).
    """
    if variant not in ONNX_VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}; choose one of {sorted(ONNX_VARIANTS)}")
    cache_dir = Path(cache_dir) if cache_dir is not None else onnx_cache_dir()
    stem = f"{weights_sha256[:32]}-{variant}-v{EXPORT_FORMAT}"
    path = cache_dir / f"{stem}.onnx"
    manifest = cache_dir / f"{stem}.json"
    if _verified(path, manifest, weights_sha256, variant):
        logger.debug("using cached ONNX model %s", path)
        return path, 0.0
    start = time.perf_counter()
    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.info("exporting %s to ONNX (%s), once per model; cached in %s",
                model_dir, variant, cache_dir)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".export-") as tmp:
        tmp = Path(tmp)
        fp32 = tmp / "fp32.onnx"
        _export_fp32(model_dir, fp32)
        final = fp32
        if variant == "int8-dynamic":
            from onnxruntime.quantization import QuantType, quantize_dynamic
            final = tmp / "int8.onnx"
            quantize_dynamic(fp32, final, weight_type=QuantType.QInt8, per_channel=True)
        digest = sha256_file(final)
        meta = {"format": EXPORT_FORMAT, "variant": variant, "weights_sha256": weights_sha256,
                "onnx_sha256": digest, "model_dir": str(model_dir), "opset": _OPSET,
                "torch": _version("torch"), "onnxruntime": _version("onnxruntime")}
        tmp_manifest = tmp / "manifest.json"
        tmp_manifest.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        # the model first, then the manifest: a manifest always describes a complete file
        os.replace(final, path)
        os.replace(tmp_manifest, manifest)
    elapsed = time.perf_counter() - start
    logger.info("ONNX export of %s took %.1f s", model_dir, elapsed)
    return path, elapsed


def _verified(path: Path, manifest: Path, weights_sha256: str, variant: str) -> bool:
    if not path.is_file() or not manifest.is_file():
        return False
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        ok = (meta.get("format") == EXPORT_FORMAT and meta.get("variant") == variant
              and meta.get("weights_sha256") == weights_sha256
              and meta.get("onnx_sha256") == sha256_file(path))
    except (OSError, ValueError) as exc:
        logger.warning("cached ONNX model %s unreadable (%s); exporting again", path, exc)
        return False
    if not ok:
        logger.warning("cached ONNX model %s does not match its manifest; exporting again", path)
    return ok


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"


def _export_fp32(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    # eager attention exports as plain MatMul/Softmax, which ONNX Runtime's optimizer fuses into
    # its Attention kernel; the SDPA path of transformers 5 exports a mask graph it cannot fuse
    model = AutoModel.from_pretrained(model_dir, local_files_only=True,
                                      attn_implementation="eager")
    model.eval()

    class _Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    dummy = torch.ones((2, 8), dtype=torch.long)
    raw = out.with_name("raw.onnx")
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            _Wrapper(model), (dummy, dummy), str(raw),
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=_OPSET, do_constant_folding=True, dynamo=False,
        )
    if getattr(config, "model_type", None) != "bert":
        os.replace(raw, out)
        return
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    # exact erf GELU: the tanh approximation moves vectors away from the torch reference
    options.enable_gelu_approximation = False
    fused = optimizer.optimize_model(
        str(raw), model_type="bert", num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size, optimization_options=options, opt_level=0,
    )
    logger.debug("ONNX fusions: %s", fused.get_fused_operator_statistics())
    fused.save_model_to_file(str(out))
