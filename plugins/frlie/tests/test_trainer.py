from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from lle_core import create
from lle_core.errors import CheckpointError, ConfigError
from lle_frlie.losses import FeatureMatchingLoss
from lle_frlie.trainer import TwoStageTrainer

ModelFactory = Callable[..., nn.Module]
BatchFactory = Callable[..., dict[str, torch.Tensor]]


class _Sum(nn.Module):
    """A minimal composite: 100·MSE + 0.2·FM (what the stage-2 recipe weighs most)."""

    def __init__(self, use_fm: bool = True) -> None:
        super().__init__()
        self.fm = FeatureMatchingLoss() if use_fm else None

    def forward(self, ctx: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        mse = 100 * torch.mean((ctx["pred"] - ctx["high"]) ** 2)
        total = mse + (0.2 * self.fm.from_context(ctx) if self.fm is not None else 0.0)
        return total, {"l_mse": float(mse.detach())}


def _save_stage1(model: nn.Module, path: Path, prefix: str = "") -> Path:
    state = {prefix + k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path))
    return path


def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_stage2_refuses_without_checkpoint(make_tiny_model: ModelFactory) -> None:
    with pytest.raises(ConfigError) as info:
        TwoStageTrainer(model=make_tiny_model(), loss=_Sum(), stage=2)
    msg = str(info.value)
    assert "trainer.stage1_checkpoint" in msg and "allow_untrained_autoencoder" in msg
    # through the registry too
    with pytest.raises(ConfigError, match="stage1_checkpoint"):
        create(
            "trainer",
            {"type": "frlie.two_stage", "stage": 2},
            runtime={"model": make_tiny_model(), "loss": _Sum()},
        )
    # the explicit opt-out works
    trainer = TwoStageTrainer(
        model=make_tiny_model(), loss=_Sum(), stage=2, allow_untrained_autoencoder=True
    )
    assert trainer.loaded_keys == []


def test_missing_checkpoint_file_is_named(make_tiny_model: ModelFactory, tmp_path: Path) -> None:
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(CheckpointError, match=r"nope\.safetensors"):
        TwoStageTrainer(model=make_tiny_model(), stage=2, stage1_checkpoint=str(missing))


@pytest.mark.parametrize("prefix", ["", "model."])
def test_stage1_checkpoint_loads_weights(
    make_tiny_model: ModelFactory, tmp_path: Path, prefix: str
) -> None:
    stage1 = make_tiny_model(seed=1)
    with torch.no_grad():  # make BN statistics non-default so that they are checked too
        for m in stage1.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    path = _save_stage1(stage1, tmp_path / "stage1.safetensors", prefix)
    target = make_tiny_model(seed=2)
    frnet_before = _snapshot(target.frnet)
    assert not torch.equal(target.encoder.conv1[1].weight, stage1.encoder.conv1[1].weight)

    trainer = TwoStageTrainer(model=target, loss=_Sum(), stage=2, stage1_checkpoint=str(path))

    for part in ("encoder", "decoder"):
        ref = getattr(stage1, part).state_dict()
        got = getattr(target, part).state_dict()
        for k in ref:
            assert torch.equal(ref[k], got[k]), f"{part}.{k} not loaded"
    # FRNet is left alone
    for k, v in target.frnet.state_dict().items():
        assert torch.equal(v, frnet_before[k])
    assert any(k.endswith("running_mean") for k in trainer.loaded_keys)
    assert all(k.startswith(("encoder.", "decoder.")) for k in trainer.loaded_keys)


def test_run_directory_and_name_resolve(make_tiny_model: ModelFactory, tmp_path: Path) -> None:
    stage1 = make_tiny_model(seed=1)
    _save_stage1(stage1, tmp_path / "latest.safetensors")
    for given in (tmp_path, tmp_path / "latest"):
        model = make_tiny_model(seed=3)
        TwoStageTrainer(model=model, stage=2, stage1_checkpoint=str(given))
        assert torch.equal(model.decoder.conv2[1].weight, stage1.decoder.conv2[1].weight)


def test_mismatched_checkpoint_is_refused(make_tiny_model: ModelFactory, tmp_path: Path) -> None:
    other = make_tiny_model(upsample="pixelshuffle")
    path = _save_stage1(other, tmp_path / "ps.safetensors")
    with pytest.raises(CheckpointError, match="upsample"):
        TwoStageTrainer(model=make_tiny_model(), stage=2, stage1_checkpoint=str(path))
    unrelated = tmp_path / "unrelated.safetensors"
    save_file({"foo.weight": torch.zeros(2)}, str(unrelated))
    with pytest.raises(CheckpointError, match="lacks"):
        TwoStageTrainer(model=make_tiny_model(), stage=2, stage1_checkpoint=str(unrelated))


def test_stage2_freezes_encoder_decoder_bit_exact(
    make_tiny_model: ModelFactory, paired_batch: BatchFactory
) -> None:
    model = make_tiny_model()
    trainer = TwoStageTrainer(model=model, loss=_Sum(), stage=2, allow_untrained_autoencoder=True)
    frozen_before = {
        **{f"encoder.{k}": v for k, v in _snapshot(model.encoder).items()},
        **{f"decoder.{k}": v for k, v in _snapshot(model.decoder).items()},
    }
    frnet_before = _snapshot(model.frnet)
    trained = {id(p) for p in trainer.parameters()}
    assert trained == {id(p) for p in model.frnet.parameters()}
    # even an optimizer over *all* parameters (with weight decay) must not move E/D
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=0.1)
    trainer.train(True)
    model.train()  # an engine calling model.train() directly must not unfreeze BN either
    assert not model.encoder.training and not model.decoder.training and model.frnet.training
    for step in range(3):
        opt.zero_grad()
        result = trainer.training_step(paired_batch(seed=step))
        result.loss.backward()
        opt.step()
    after = {
        **{f"encoder.{k}": v for k, v in model.encoder.state_dict().items()},
        **{f"decoder.{k}": v for k, v in model.decoder.state_dict().items()},
    }
    for k, v in frozen_before.items():
        assert torch.equal(v, after[k]), f"{k} moved in stage 2"
    assert any(k.endswith("running_mean") for k in frozen_before)
    assert any(not torch.equal(v, model.frnet.state_dict()[k]) for k, v in frnet_before.items())


def test_stage1_trains_only_autoencoder(
    make_tiny_model: ModelFactory, paired_batch: BatchFactory
) -> None:
    model = make_tiny_model()
    trainer = TwoStageTrainer(model=model, loss=_Sum(use_fm=False), stage=1)
    trained = {id(p) for p in trainer.parameters()}
    assert trained == {id(p) for p in model.encoder.parameters()} | {
        id(p) for p in model.decoder.parameters()
    }
    batch = paired_batch()
    result = trainer.training_step(batch)
    # stage 1 reconstructs the normal-light image: pred = D(E(high))
    model.eval()
    with torch.no_grad():
        recon = model.decode(model.encode(batch["high"]))
    model.train()
    assert result.outputs["pred"].shape == batch["high"].shape
    assert "feat_high" in result.outputs
    trainer.train(False)
    with torch.no_grad():
        again = trainer.training_step(batch).outputs["pred"]
    assert torch.allclose(again, recon, atol=1e-6)


def test_fm_target_high_and_low(make_tiny_model: ModelFactory, paired_batch: BatchFactory) -> None:
    model = make_tiny_model()
    batch = paired_batch()
    high = TwoStageTrainer(model=model, loss=_Sum(), stage=2, allow_untrained_autoencoder=True)
    out = high.training_step(batch).outputs
    with torch.no_grad():
        assert torch.allclose(out["feat_target"], model.encode(batch["high"]), atol=1e-6)
    assert not out["feat_target"].requires_grad
    assert out["feat_restored"].requires_grad
    low = TwoStageTrainer(
        model=model, loss=_Sum(), stage=2, allow_untrained_autoencoder=True, fm_target="low"
    )
    out_low = low.training_step(batch).outputs
    assert torch.allclose(out_low["feat_target"], out_low["feat_low"])


def test_end_to_end_trains_everything(
    make_tiny_model: ModelFactory, paired_batch: BatchFactory
) -> None:
    model = make_tiny_model()
    trainer = TwoStageTrainer(model=model, loss=_Sum(use_fm=False), stage="end_to_end")
    assert {id(p) for p in trainer.parameters()} == {id(p) for p in model.parameters()}
    trainer.train(True)
    assert model.encoder.training
    result = trainer.training_step(paired_batch())
    result.loss.backward()
    assert model.encoder.conv1[1].weight.grad is not None
    assert model.frnet.blocks[0][0].reduce.weight.grad is not None


def test_stage_param_accepts_text() -> None:
    from lle_frlie.params import TwoStageParams

    assert TwoStageParams(stage="1").stage == 1
    assert TwoStageParams(stage="end_to_end").stage == "end_to_end"
    with pytest.raises(ValueError):
        TwoStageParams(stage=3)
