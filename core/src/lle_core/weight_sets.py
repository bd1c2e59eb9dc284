"""Pretrained weight sets: trained weights shipped inside plugin packages, with their record.

A plugin ships each set as two package-data files, ``weights/<name>.safetensors`` and its
record ``weights/<name>.json`` (written by :func:`export_weight_set`); core registers every
record of a plugin's package as ``<plugin>.<name>`` by convention (the
``lle_register_shipped`` hook of :mod:`lle_core.builtins`), so the plugin's hook registers
nothing for them. A record is a :class:`WeightSet`::

    WeightSet(
        model={"type": "neid.model", ...},          # the architecture the weights fit
        file="lle_neid:weights/lol.safetensors",    # package resource
        sha256="…", data="…", recipe="neid:lol", budget="…",
        metrics={"psnr": 19.1, "ssim": 0.71, ...},  # LOL-v1 eval15, project protocol
    )                                               # registered as "neid.lol"

Users then get a trained model with ``lle_core.create("model", "neid.model",
pretrained=True)`` (the model's default set) or ``pretrained="neid.lol"``; ``lle weights``
lists every installed set with its metrics, and ``lle enhance IN -o OUT --model neid`` runs
one. The file's SHA-256 is checked before any tensor is read: a mismatch is an error that
names the file. Nothing is downloaded: the weights are package data of the plugin.

This module imports nothing heavy at import time (core reads the records while plugins load).
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lle_core.errors import WeightsError

if TYPE_CHECKING:
    from torch import nn

#: Throughput floor (megapixels per second on the reference machine) of the CLI's default
#: model: a 12 MP photo in about a minute or less.
DEFAULT_MIN_MP_PER_S = 0.2

#: Real-photo targets of a shipped set on every no-reference folder of its panel
#: (``docs/weights.md``): colour ratio, highlight clipping in percentage points above the
#: gained input, border ratio.
PHOTO_TARGETS: dict[str, tuple[float, float]] = {
    "color_ratio": (0.75, 1.25), "clipping": (float("-inf"), 2.0), "border": (0.97, 1.03)}


@dataclass(frozen=True)
class WeightSet:
    """Record of one shipped set of trained weights (see the module docstring).

    Attributes:
        model: Spec of the architecture (``{"type": "neid.model", ...}``); loading builds it.
        file: ``"package:relative/path"`` of the safetensors file inside an installed
            package (or a plain path, for sets outside packages).
        sha256: Hex SHA-256 of the file.
        data: What the weights were trained on (and what was held out).
        recipe: The recipe that reproduces them (``"neid:lol"``) and how it was run.
        budget: Steps, wall time and machine of the training.
        metrics: Measured quality, e.g. ``psnr``/``ssim`` and ``psnr_gt_mean``/
            ``ssim_gt_mean`` on LOL-v1 eval15 (the project protocol, docs/benchmarks.md).
        mp_per_s: Measured ``lle_core.enhance`` throughput on the reference machine (MP/s,
            default inference path) or ``None``; the CLI's default model must be fast enough.
        storage: dtype of the stored tensors (``float32``, ``float16``); loading casts them
            to the model's dtype.
        notes: Anything a user should know (deviations from the paper, known weaknesses).
        photo_panel: The real-photo panel (:mod:`lle_core.evaluation.photo_panel`):
            ``{folder: {figure: value}}``, e.g. ``{"dicm": {"color_ratio": 0.91, ...},
            "kodak": {"psnr": 21.3, "ssim": 0.71}}``; empty when not measured.
    """

    model: Mapping[str, Any]
    file: str
    sha256: str
    data: str
    recipe: str
    budget: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    mp_per_s: float | None = None
    storage: str = "float32"
    notes: str = ""
    photo_panel: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @property
    def model_type(self) -> str:
        """The ``type`` of :attr:`model`, e.g. ``"neid.model"``."""
        return str(self.model["type"])

    def path(self) -> Path:
        """Local path of the weights file (resolved inside its package).

        Raises:
            WeightsError: The package is not installed or the file is missing from it.
        """
        package, sep, relative = self.file.partition(":")
        if not sep:
            return Path(self.file)
        try:
            root = importlib.resources.files(package)
        except ModuleNotFoundError:
            raise WeightsError(
                f"weights file {self.file}: package {package!r} is not installed"
            ) from None
        resource = root.joinpath(relative)
        path = Path(str(resource))
        if not path.is_file():
            raise WeightsError(
                f"weights file {relative} is missing from the installed package {package!r} "
                f"(looked at {path}); reinstall the plugin"
            )
        return path

    def verify(self) -> Path:
        """Check the file's SHA-256 and return its path.

        Raises:
            WeightsError: Missing file, or a checksum mismatch (names the file and both sums).
        """
        path = self.path()
        digest = sha256_of(path)
        if digest != self.sha256:
            raise WeightsError(
                f"checksum mismatch for {path}: expected sha256 {self.sha256}, got {digest}; "
                "the file is damaged or was replaced: reinstall the plugin"
            )
        return path

    def load(self, overrides: Mapping[str, Any] | None = None) -> nn.Module:
        """Build :attr:`model` (with inference-option ``overrides``) and load the weights.

        Returns:
            The model in eval mode, float32, on the CPU.

        Raises:
            WeightsError: Missing file, checksum mismatch, or weights that do not fit.
        """
        from safetensors.torch import load_file

        from lle_core.checkpoint import load_weights, mark_weights
        from lle_core.spec import parse_spec

        path = self.verify()
        spec = {**dict(self.model), **{k: v for k, v in (overrides or {}).items()
                                        if k != "type"}}
        model = parse_spec("model", spec).build()
        tensors = load_file(str(path))
        load_weights(model, tensors, source=str(path))
        mark_weights(model, f"{self.file}")
        return model.float().eval()

    def __call__(self, **overrides: Any) -> nn.Module:
        """Registry factory: ``create("weights", "neid.lol")`` returns the loaded model."""
        return self.load(overrides)

    def summary(self) -> str:
        """One line: model, headline metrics and speed."""
        m = self.metrics
        parts = [self.model_type]
        if "psnr" in m and "ssim" in m:
            parts.append(f"LOL-v1 eval15 {m['psnr']:.2f} dB / {m['ssim']:.3f}")
        if self.mp_per_s is not None:
            parts.append(f"{self.mp_per_s:.2g} MP/s")
        return ", ".join(parts)

    def photo_misses(self) -> list[str] | None:
        """The real-photo targets (:data:`PHOTO_TARGETS`) this set misses.

        Returns:
            E.g. ``["dicm color_ratio 0.61"]``; ``None`` when the panel was not measured.
        """
        if not self.photo_panel:
            return None
        misses = []
        for folder, figures in self.photo_panel.items():
            for figure, (lo, hi) in PHOTO_TARGETS.items():
                value = figures.get(figure)
                if value is not None and not lo <= value <= hi:
                    misses.append(f"{folder} {figure} {value:.3g}")
        return misses

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, package: str | None = None) -> WeightSet:
        """Build from a JSON record (as written by :func:`export_weight_set`).

        A record's ``file`` relative to its package becomes ``"package:file"``.
        """
        data = dict(record)
        if package is not None and ":" not in str(data["file"]):
            data["file"] = f"{package}:{data['file']}"
        return cls(**data)


#: Folder, inside a plugin package, of shipped weight files and their JSON records.
WEIGHTS_DIR = "weights"


def shipped_weight_sets(package: str) -> dict[str, WeightSet]:
    """The weight sets of ``package``: one per ``weights/<name>.json`` record, by name.

    Reads small JSON files only (no torch import): plugins call this while registering.
    """
    import json

    folder = importlib.resources.files(package).joinpath(WEIGHTS_DIR)
    out: dict[str, WeightSet] = {}
    if not folder.is_dir():
        return out
    for item in sorted(folder.iterdir(), key=lambda r: r.name):
        if item.name.endswith(".json"):
            record = json.loads(item.read_text(encoding="utf-8"))
            out[item.name[: -len(".json")]] = WeightSet.from_record(record, package=package)
    return out


def register_shipped_weights(register: Any, package: str, *, summary_prefix: str = "") -> None:
    """Register every weight set shipped in ``package`` (see :func:`shipped_weight_sets`)."""
    for name, ws in shipped_weight_sets(package).items():
        register("weights", name, ws, summary=(summary_prefix + ws.summary()).strip())


def export_weight_set(
    checkpoint: str | Path,
    package_dir: str | Path,
    name: str,
    *,
    storage: str = "float32",
    data: str,
    recipe: str,
    budget: str,
    metrics: Mapping[str, float],
    mp_per_s: float | None = None,
    notes: str = "",
    photo_panel: Mapping[str, Mapping[str, float]] | None = None,
) -> WeightSet:
    """Write ``<package_dir>/weights/<name>.safetensors`` and its ``<name>.json`` record.

    Only the inference weights of the checkpoint's model are kept (training-only parts such
    as NEID's DR head are dropped), optionally stored as float16. Both files are written
    with :func:`lle_core.files.atomic_write` (unique temporary name, fsync, rename), so an
    interrupted export leaves the previous files or none, never a partial one.

    Args:
        checkpoint: An engine checkpoint (``best.safetensors``), which records its model.
        package_dir: The plugin's package folder (``plugins/neid/src/lle_neid``).
        name: Set name (``"lol"``; registered as ``<plugin>.lol``).
        storage: ``"float32"`` or ``"float16"``.
        data: See :class:`WeightSet` (as are the next five).
        recipe: The reproducing recipe and command.
        budget: Steps, wall time, machine.
        metrics: Measured quality.
        mp_per_s: Measured throughput.
        notes: Deviations and caveats.
        photo_panel: Real-photo panel figures, if measured (``docs/weights/panel.py``).

    Returns:
        The record, with ``file`` relative to the package.
    """
    import json
    import os

    import torch
    from safetensors.torch import save

    from lle_core.checkpoint import checkpoint_spec, inference_state_dict, load_model
    from lle_core.files import atomic_write

    if storage not in ("float32", "float16"):
        raise ValueError(f"storage must be float32 or float16, got {storage!r}")
    model = load_model(checkpoint)
    spec = checkpoint_spec(checkpoint)
    dtype = getattr(torch, storage)
    state = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous()
             for k, v in inference_state_dict(model).items()}
    folder = Path(package_dir) / WEIGHTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    payload = save(state, metadata={"format": "pt", "lle_model_spec": json.dumps(spec)})
    target = atomic_write(folder / f"{name}.safetensors", payload, mode=0o644)
    os.chmod(target, 0o644)  # package data: readable by everyone who installs it, any umask
    record = WeightSet(
        model=spec, file=f"{WEIGHTS_DIR}/{name}.safetensors",
        sha256=hashlib.sha256(payload).hexdigest(),
        data=data, recipe=recipe, budget=budget, metrics=dict(metrics), mp_per_s=mp_per_s,
        storage=storage, notes=notes, photo_panel=dict(photo_panel or {}),
    )
    fields = {k: getattr(record, k) for k in record.__dataclass_fields__}
    fields["model"] = dict(record.model)
    fields["metrics"] = dict(record.metrics)
    fields["photo_panel"] = {k: dict(v) for k, v in record.photo_panel.items()}
    atomic_write(folder / f"{name}.json", (json.dumps(fields, indent=2) + "\n").encode())
    return record


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weight_sets() -> dict[str, WeightSet]:
    """Every registered weight set by canonical name (``"neid.lol"``)."""
    from lle_core.registry import registries

    out: dict[str, WeightSet] = {}
    for entry in registries()["weights"].entries():
        factory = entry.resolve_factory()
        if isinstance(factory, WeightSet):
            out[entry.name] = factory
    return out


def find_weight_set(name: str) -> tuple[str, WeightSet]:
    """A weight set by set name (``neid.lol``), model name (``neid.model``) or plugin id.

    A model name or plugin id gives that model's first registered set.

    Raises:
        WeightsError: Nothing matches; the message lists the installed sets.
    """
    sets = weight_sets()
    if name in sets:
        return name, sets[name]
    for set_name, ws in sets.items():
        if name in (ws.model_type, ws.model_type.split(".", 1)[0]):
            return set_name, ws
    listing = ", ".join(f"{n} ({w.model_type})" for n, w in sets.items()) or "none installed"
    raise WeightsError(f"no pretrained weights for {name!r}; available: {listing}")


def default_weight_set() -> tuple[str, WeightSet]:
    """The CLI's default set: fast enough, fewest real-photo misses, best structure, LOL PSNR.

    Among sets at least :data:`DEFAULT_MIN_MP_PER_S` fast, the one that misses the fewest
    real-photo targets (:meth:`WeightSet.photo_misses`), then the best mean SSIM on the
    panel's darkened photos (structure: blur and blotches the no-reference figures do not
    see), then the best LOL-v1 PSNR. Sets
    without a measured speed count as too slow (when none is fast enough, all sets compete);
    sets without a measured panel rank after every measured one.

    Raises:
        WeightsError: No weight set is installed.
    """
    sets = weight_sets()
    if not sets:
        raise WeightsError(
            "no pretrained weights are installed: install a plugin that ships weights "
            "(e.g. pip install lle-neid) or pass --weights CHECKPOINT"
        )
    fast = {n: w for n, w in sets.items()
            if w.mp_per_s is not None and w.mp_per_s >= DEFAULT_MIN_MP_PER_S}
    pool = fast or sets

    def rank(item: tuple[str, WeightSet]) -> tuple[int, float, float, str]:
        ws = item[1]
        misses = ws.photo_misses()
        penalty = len(misses) if misses is not None else 1 + 3 * len(PHOTO_TARGETS) * 8
        ssims = [f["ssim"] for f in ws.photo_panel.values() if "ssim" in f]
        structure = sum(ssims) / len(ssims) if ssims else float("-inf")
        return (-penalty, structure, ws.metrics.get("psnr", float("-inf")), item[0])

    return max(pool.items(), key=rank)


def load_pretrained(model_spec: Any, pretrained: bool | str) -> nn.Module:
    """The model of ``model_spec`` with shipped weights (``create(..., pretrained=...)``).

    Args:
        model_spec: A parsed model :class:`~lle_core.spec.ComponentSpec`.
        pretrained: ``True`` (the model's first set) or a weight-set name.

    Raises:
        WeightsError: No set for this model, a set for another model, or parameters that
            change the architecture the weights were trained for (names the keys).
    """
    name = model_spec.name if pretrained is True else str(pretrained)
    set_name, ws = find_weight_set(name)
    if ws.model_type != model_spec.name:
        raise WeightsError(
            f"weight set {set_name} is for {ws.model_type}, not {model_spec.name}"
        )
    given = model_spec.params.model_fields_set
    overrides = {k: v for k, v in model_spec.to_dict().items() if k in given}
    try:
        return ws.load(overrides)
    except WeightsError as err:
        if overrides:
            raise WeightsError(
                f"{err}\n(parameters given with pretrained weights: {sorted(overrides)}; only "
                "inference options may differ from the trained architecture)"
            ) from None
        raise
