"""hf2.model: parameter counts (our layer lists), ablation variants, sizes, backbone checks."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import torch
import yaml

from lle_core import ConfigError, create
from lle_core.interfaces import Backbone
from lle_hf2.model import HF2UNet, count_parameters

RANDOM_VGG = {"type": "hf2.vgg16", "weights": "random"}
FROZEN_VGG16 = 14_714_688  # VGG16 conv parameters (relu5_3 and below)


def small(**params: Any) -> dict[str, Any]:
    return {"type": "hf2.model", "base_width": 8, "backbone": RANDOM_VGG, **params}


def recipe_model(name: str) -> dict[str, Any]:
    text = (resources.files("lle_hf2") / "recipes" / f"{name}.yaml").read_text()
    return yaml.safe_load(text)["model"]


@pytest.mark.parametrize(
    ("fusion", "trainable"),
    [
        ({"type": "hf2.hf2", "op": "mul"}, 17_658_235),  # HF2 ⊗ (M3, the paper)
        ({"type": "hf2.hf2", "op": "add"}, 17_658_235),  # ⊕ (M1)
        ({"type": "hf2.hf2", "op": "cat"}, 19_577_595),  # ∪ (M2)
    ],
    ids=["mul", "add", "cat"],
)
def test_full_width_parameter_counts(fusion: dict[str, Any], trainable: int) -> None:
    model = create("model", {"type": "hf2.model", "backbone": RANDOM_VGG, "fusion": fusion})
    counts = count_parameters(model)
    assert counts["trainable"] == trainable
    assert counts["frozen"] == FROZEN_VGG16
    assert count_parameters(model.backbone) == {
        "trainable": 0, "frozen": FROZEN_VGG16, "total": FROZEN_VGG16
    }


def test_m0_count_is_m2_without_attention() -> None:
    m0 = create("model", {**recipe_model("m0"), "backbone": RANDOM_VGG})
    hf2_cat = create("fusion", {"type": "hf2.hf2", "op": "cat"}, runtime={"channels": 64})
    core_cat = create("fusion", "core.cat", runtime={"channels": 64})
    assert count_parameters(hf2_cat)["total"] > count_parameters(core_cat)["total"]
    # M0 = M2 minus the 9 CBAM pairs (5 encoder + 4 skip fusions).
    attention = sum(
        count_parameters(f)["total"] - count_parameters(f.reduce)["total"]
        for f in (create("fusion", {"type": "hf2.hf2", "op": "cat"}, runtime={"channels": c})
                  for c in (64, 128, 256, 512, 512, 64, 128, 256, 512))
    )
    assert count_parameters(m0)["trainable"] == 19_577_595 - attention


@pytest.mark.parametrize("variant", ["m0", "m1", "m2", "m3", "paper"])
def test_ablation_variants_build_and_run(variant: str) -> None:
    spec = {**recipe_model(variant), "base_width": 8, "backbone": RANDOM_VGG}
    model = create("model", spec)
    x = torch.rand(2, 3, 32, 32)
    model.train()
    out = model.forward_train(x)["pred"]
    assert out.shape == x.shape
    out.mean().backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    model.eval()
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape and y.min() >= 0.0 and y.max() <= 1.0


def test_ablation_fusions_are_what_table3_says() -> None:
    expected = {"m0": "core.cat", "m1": "add", "m2": "cat", "m3": "mul", "paper": "mul"}
    for variant, op in expected.items():
        model = create("model", {**recipe_model(variant), "base_width": 8, "backbone": RANDOM_VGG})
        for fusion in [*model.encoder_fusions, *model.skip_fusions]:
            if op == "core.cat":
                assert fusion.lle_spec.name == "core.cat"
            else:
                assert fusion.lle_spec.name == "hf2.hf2" and fusion.op == op


@pytest.mark.parametrize("size", [(17, 23), (33, 40), (48, 64), (5, 9)])
def test_sizes_not_multiple_of_16_come_back_at_their_size(size: tuple[int, int]) -> None:
    model = create("model", small()).eval()
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        assert model(x).shape == x.shape


def test_enhance_keeps_size() -> None:
    from lle_core import enhance

    model = create("model", small()).eval()
    x = torch.rand(1, 3, 37, 50)
    out = enhance(model, x)
    assert tuple(out.shape[-2:]) == (37, 50)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_separate_encoder_and_skip_fusions() -> None:
    model = create("model", small(encoder_fusion="core.add",
                                  skip_fusion={"type": "hf2.hf2", "op": "add"}))
    assert all(f.lle_spec.name == "core.add" for f in model.encoder_fusions)
    assert all(f.lle_spec.name == "hf2.hf2" and f.op == "add" for f in model.skip_fusions)


def test_options_run() -> None:
    x = torch.rand(1, 3, 32, 32)
    for params in (
        {"use_prior": False},
        {"skip_source": "encoder"},
        {"norm": "batch"},
        {"output": "clamp"},
        {"prior_input": "gamma"},
        {"fusion": {"type": "hf2.hf2", "share_attention": True}},
    ):
        model = create("model", small(**params)).eval()
        with torch.no_grad():
            y = model(x)
        assert y.shape == x.shape and y.min() >= 0.0 and y.max() <= 1.0, params
    assert create("model", small(use_prior=False)).backbone is None


class _WrongBackbone(Backbone):
    def __init__(self, channels: tuple[int, ...], reductions: tuple[int, ...]) -> None:
        super().__init__()
        self.channels, self.reductions = channels, reductions

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise AssertionError("never run")


def test_backbone_reductions_mismatch_names_levels() -> None:
    bad = _WrongBackbone((64, 256, 512, 1024, 2048), (2, 4, 8, 16, 32))
    with pytest.raises(ConfigError, match=r"level 1: .* reduces by 2 .* 1/1"):
        HF2UNet(backbone=bad, base_width=8)
    with pytest.raises(ConfigError, match="3 feature levels"):
        HF2UNet(backbone=_WrongBackbone((8, 16, 32), (1, 2, 4)), base_width=8)


def test_backbone_channel_mismatch_without_adapter_names_levels() -> None:
    with pytest.raises(ConfigError, match=r"level 1: .* 64 channels .* has 8"):
        create("model", small(prior_adapter="none"))
    # Same widths as VGG16 need no adapter at all.
    full = HF2UNet(backbone=_WrongBackbone((64, 128, 256, 512, 512), (1, 2, 4, 8, 16)),
                   prior_adapter="none")
    assert all(isinstance(a, torch.nn.Identity) for a in full.adapters)


def test_small_model_adapts_vgg_with_1x1_convs() -> None:
    model = create("model", small())
    assert [a.out_channels for a in model.adapters] == [8, 16, 32, 64, 64]
    assert [a.in_channels for a in model.adapters] == [64, 128, 256, 512, 512]


def test_built_fusion_module_is_refused() -> None:
    from lle_hf2.fusion import HF2Fusion

    with pytest.raises(TypeError, match="each level needs its own"):
        HF2UNet(backbone=RANDOM_VGG, fusion=HF2Fusion(8), base_width=8)
    model = HF2UNet(backbone=RANDOM_VGG, fusion=lambda c: HF2Fusion(c, op="add"), base_width=8)
    assert all(f.op == "add" for f in model.skip_fusions)


def test_vgg_frozen_through_training_steps() -> None:
    torch.manual_seed(0)
    model = create("model", small())
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert not any(p is q for p in trainable for q in model.backbone.parameters())
    opt = torch.optim.Adam(trainable, lr=1e-2)
    low, high = torch.rand(2, 3, 32, 32) * 0.2, torch.rand(2, 3, 32, 32)
    for _ in range(3):
        model.train()
        assert not model.backbone.training
        assert not any(m.training for m in model.backbone.modules())
        loss = (model.forward_train(low)["pred"] - high).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(p.grad is None for p in model.backbone.parameters())
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert model.training and not model.backbone.training
