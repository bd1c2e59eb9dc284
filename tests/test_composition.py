"""Cross-paper composition: parts of different plugins combine, or are refused clearly.

Runs with every plugin installed (``make test`` installs them all). Everything trains for a
few steps on tiny generated images; nothing here reads ``../shared``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from lle_core import ComponentNotFoundError, ConfigError, ShapeError, create, parse_spec
from lle_core.hookspecs import hookimpl
from lle_core.plugins import temporary_plugin
from lle_core.registry import registries
from lle_core.spec import spec_fields
from lle_core.testing.strategies import make_image, make_image_folders

PLUGINS = ("hf2", "neid", "frlie", "auxnet", "dln")


def _installed(*plugins: str) -> None:
    from lle_core.plugins import loaded_plugin_ids

    missing = set(plugins) - loaded_plugin_ids()
    if missing:
        pytest.fail(f"the composition suite needs every plugin; not loaded: {sorted(missing)}")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_image_folders(tmp_path_factory.mktemp("comp"), count=3, height=48, width=48)


def _trainer_for(model_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trainer (and loss) a model's own plugin pairs it with, from the registry."""
    for entry in registries()["trainer"].entries():
        example = entry.example or {}
        model = example.get("model") or {}
        if entry.plugin != "core" and model.get("type") == model_name:
            params = {k: v for k, v in example.items() if k not in ("model", "loss")}
            return {"type": entry.name, **params}, example.get("loss")
    return {"type": "core.supervised"}, {"type": "core.l1"}


def _model_example(name: str) -> dict[str, Any]:
    entry = registries()["model"].get(name)
    return {"type": entry.name, **(entry.example or {})}


def _train_steps(model_spec: dict[str, Any], steps: int = 2) -> list[float]:
    """A few optimizer steps of the model's own trainer on a tiny generated batch."""
    model = parse_spec("model", model_spec).build()
    trainer_spec, loss_spec = _trainer_for(model_spec["type"])
    loss = create("loss", {"type": "core.composite", "terms": [loss_spec]}) if (
        loss_spec and loss_spec.get("type") != "core.composite") else (
        create("loss", loss_spec) if loss_spec else None)
    trainer = create("trainer", trainer_spec, runtime={"model": model, "loss": loss})
    params = list(trainer.parameters())
    before = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=1e-3)
    high = make_image("smooth", 32, 32, batch=2, seed=1)
    batch = {"low": (0.2 * high).clamp(0, 1), "high": high, "name": ["a", "b"]}
    losses = []
    trainer.train(True)
    for _ in range(steps):
        opt.zero_grad()
        result = trainer.training_step(batch)
        result.loss.backward()
        opt.step()
        losses.append(result.loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert any(not torch.equal(a, p.detach()) for a, p in zip(before, params, strict=True))
    return losses


def _fusion_cases() -> list[tuple[str, str]]:
    cases = []
    for model in registries()["model"].entries():
        if "fusion" in spec_fields(model.params).values():
            for fusion in registries()["fusion"].entries():
                cases.append((model.name, fusion.name))
    return cases


def test_every_plugin_is_installed_for_this_suite() -> None:
    _installed(*PLUGINS)
    cases = _fusion_cases()
    assert ("hf2.model", "neid.channel_ff") in cases
    assert ("hf2.model", "dln.fa") in cases
    assert ("neid.model", "hf2.hf2") in cases


@pytest.mark.parametrize(("model", "fusion"), _fusion_cases(), ids=lambda v: v)
def test_fusion_ops_plug_into_every_model_that_takes_one(model: str, fusion: str) -> None:
    spec = _model_example(model)
    for field, kind in spec_fields(registries()["model"].get(model).params).items():
        if kind == "fusion":
            spec[field] = {"type": fusion}
    net = parse_spec("model", spec).build().eval()
    with torch.no_grad():
        out = __import__("lle_core").enhance(net, make_image("dark", 21, 27))
    assert out.shape[-2:] == (21 * net.capabilities.scale, 27 * net.capabilities.scale)
    assert out.min() >= 0 and out.max() <= 1
    _train_steps(spec)


def _run(config: dict[str, Any], out: Path) -> Any:
    from lle_core.engine import train

    config = {**config, "budget": {"steps": 3}, "train": {"log_every": 1, "seed": 0}}
    return train(config, out_dir=out, progress=False)


def test_neid_trains_with_frlie_hue_and_ms_ssim(data: dict[str, Path], tmp_path: Path) -> None:
    result = _run({
        "model": _model_example("neid.model"),
        "trainer": {"type": "neid.two_stream"},
        "loss": {"type": "core.composite", "terms": [
            {"type": "core.l1"},
            {"type": "frlie.hue", "weight": 0.05},
            {"type": "core.ms_ssim", "weight": 0.5, "on_small": "fewer_scales"},
        ]},
        "data": {"train": {"type": "core.paired_folder", "root": str(data["paired_dir"]),
                           "crop": 32}, "batch_size": 2},
    }, tmp_path / "run")
    assert result.steps == 3
    logged = {k for rec in result.history for k in rec}
    assert {"l_l1", "l_hue", "l_ms_ssim"} <= logged, logged


def test_dln_trains_with_neid_colour_loss(data: dict[str, Path], tmp_path: Path) -> None:
    result = _run({
        "model": _model_example("dln.model"),
        "loss": {"type": "core.composite", "terms": [
            {"type": "core.ssim", "padding": "same"},
            {"type": "neid.hsv_color", "weight": 0.1},
        ]},
        "data": {"train": {"type": "core.paired_folder", "root": str(data["paired_dir"]),
                           "crop": 32}, "batch_size": 2},
    }, tmp_path / "run")
    assert result.steps == 3
    train = [rec for rec in result.history if rec["kind"] == "train"]
    assert len(train) == 3
    for rec in train:  # both terms logged at every step, with finite values
        terms = {k: v for k, v in rec.items() if k.startswith("l_")}
        assert set(terms) == {"l_ssim", "l_hsv_color"}, rec
        assert all(v == v and v >= 0 for v in terms.values()), rec


def _supervised_models() -> list[str]:
    return [e.name for e in registries()["model"].entries()
            if e.capabilities.needs_ground_truth and e.capabilities.needs_weights]


@pytest.mark.parametrize("model", _supervised_models())
def test_dln_synthetic_pairs_feed_every_supervised_model(
    model: str, data: dict[str, Path], tmp_path: Path
) -> None:
    trainer, loss = _trainer_for(model)
    result = _run({
        "model": _model_example(model),
        "trainer": trainer,
        "loss": loss,
        "data": {"train": {"type": "dln.synthetic", "root": str(data["clean_dir"]),
                           "crop": 32, "short_side": 40, "seed": 3}, "batch_size": 2},
    }, tmp_path / "run")
    assert result.steps == 3
    assert result.latest_checkpoint is not None and result.latest_checkpoint.exists()


# --------------------------------------------------------------------------- refusals


def test_trainer_with_a_foreign_model_is_refused_clearly() -> None:
    model = create("model", "core.unet_small", base_width=4)
    batch = {"low": torch.rand(2, 3, 32, 32) * 0.2, "high": torch.rand(2, 3, 32, 32)}
    with pytest.raises(ConfigError, match="FRLIE-like model"):
        create("trainer", {"type": "frlie.two_stage", "stage": 2,
                           "allow_untrained_autoencoder": True},
               runtime={"model": model, "loss": create("loss", "core.l1")})
    trainer = create("trainer", "neid.two_stream",
                     runtime={"model": model, "loss": create("loss", "core.l1")})
    with pytest.raises(ShapeError, match=r"neid\.model"):
        trainer.training_step(batch)


def test_ground_truth_loss_in_an_unpaired_trainer_is_refused() -> None:
    model = create("model", "auxnet.model")
    with pytest.raises(ConfigError, match="read 'high'"):
        create("trainer", "auxnet.staged",
               runtime={"model": model, "loss": create("loss", "core.l1")})


def test_paired_trainer_on_unpaired_data_is_refused(data: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ground truth|paired|high"):
        _run({
            "model": _model_example("neid.model"),
            "trainer": {"type": "neid.two_stream"},
            "loss": {"type": "core.l1"},
            "data": {"train": {"type": "core.unpaired_folder", "root": str(data["low_dir"]),
                               "crop": 32}, "batch_size": 2},
        }, tmp_path / "run")


def test_component_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(ComponentNotFoundError):
        create("loss", "dln.lbp")
    with pytest.raises(ConfigError, match="fusion"):
        parse_spec("model", {"type": "hf2.model", "fusion": {"type": "dln.lbp"}})


def test_fusion_too_narrow_for_the_host_is_refused() -> None:
    class Wide:
        LLE_PLUGIN_API = 1

        @hookimpl
        def lle_register(self, register: Any) -> None:
            register("fusion", "wide", "lle_core.fusion_ops:AddFusion",
                     capabilities={"min_channels": 4096})

    with temporary_plugin(Wide(), plugin_id="compwide"):
        spec = {**_model_example("neid.model"), "fusion": {"type": "compwide.wide"}}
        with pytest.raises(ShapeError, match="at least 4096 channels"):
            parse_spec("model", spec).build()
