"""AuxNet's fast inference copy (``capabilities.fast_path``, see :mod:`lle_core.inference.fast`).

Built by :meth:`lle_auxnet.model.AuxNet.fast_inference` at enhance time from a trained model;
the model itself (parameters, training and plain forward) is untouched. Compared with the plain
eval forward it

* holds detached, folded weights (H_θ's batch norm folded into its middle convolution once,
  instead of at every call);
* runs the convolutions in bfloat16 when ``"bfloat16"`` is given (the input is cast once; the
  Retinex tail ``S / clamp(S + u, floor, 1)`` stays in float32);
* drops the final ``clamp(·, 0, 1)`` and the ``.contiguous()`` copy: with ``u = σ(·) ≥ 0`` and
  ``S ≥ 0``, ``S / clamp(S + u, floor, 1)`` already lies in ``[0, 1]`` (``enhance`` clamps
  again anyway), and ``enhance`` accepts a channels-last output.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class FastAuxNet(nn.Module):
    """AuxNet's inference block ``clamp(S / L, 0, 1)`` with folded weights (inference only)."""

    def __init__(
        self,
        stem: list[list[tuple[Tensor, Tensor | None, int, int]]],
        convs: list[tuple[Tensor, Tensor | None]],
        *,
        floor: float,
        stem_once: bool,
        channels_last: bool,
        bfloat16: bool,
    ) -> None:
        """Build from detached copies (cast once to the compute dtype).

        Args:
            stem: Per branch, its convolutions ``(weight, bias, padding, dilation)`` (each
                followed by a ReLU).
            convs: H_θ's three convolutions ``(weight, bias)``, batch norm folded.
            floor: Lower clamp of the illumination.
            stem_once: ``fe_wiring="once"``: H_θ reads the stem features and the input.
            channels_last: Channels-last activations.
            bfloat16: bfloat16 convolutions.
        """
        super().__init__()
        self.dtype = torch.bfloat16 if bfloat16 else torch.float32
        self.floor = floor
        self.stem_once = stem_once
        self.channels_last = channels_last
        self.stem = [[(self._cast(w), self._cast(b), p, d) for w, b, p, d in br] for br in stem]
        self.convs = [(self._cast(w), self._cast(b)) for w, b in convs]

    def _cast(self, t: Tensor | None) -> Any:
        return None if t is None else t.detach().to(self.dtype).clone()

    def forward(self, low: Tensor) -> Tensor:
        """``S (B, 3, H, W)`` in ``[0, 1]`` -> ``S / L`` in ``[0, 1]`` (float32)."""
        s = low.float()
        if self.channels_last:
            s = s.contiguous(memory_format=torch.channels_last)
        x = s.to(self.dtype)
        feats = []
        for branch in self.stem:
            f = x
            for w, b, pad, dil in branch:
                f = F.relu(F.conv2d(f, w, b, padding=pad, dilation=dil), inplace=True)
            feats.append(f)
        if self.stem_once:
            feats.append(x)
        h = torch.cat(feats, dim=1)
        (w0, b0), (w1, b1), (w2, b2) = self.convs
        h = F.relu(F.conv2d(h, w0, b0, padding=1), inplace=True)
        h = F.relu(F.conv2d(h, w1, b1, padding=1), inplace=True)
        u = torch.sigmoid(F.conv2d(h, w2, b2, padding=1))
        illumination = u.float() if u.dtype != torch.float32 else u
        illumination = illumination.add_(s).clamp_(self.floor, 1.0)
        return torch.div(s, illumination, out=illumination)
