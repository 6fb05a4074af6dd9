"""The paper's model in plain PyTorch, with torchvision's parameter names.

The reference the Flax port is checked against (tests) and timed against
(benchmarks). torchvision has no CPU build here, so ResNet18 is written out;
its state_dict keys are torchvision's (`layer2.0.downsample.1.running_var`, ...).
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision.models.resnet18 (with its 1000-class `fc`)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        planes = [64, 128, 256, 512]
        for i, p in enumerate(planes):
            inplanes = 64 if i == 0 else planes[i - 1]
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(inplanes, p, 1 if i == 0 else 2), BasicBlock(p, p)))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def stages(self, x) -> dict[str, torch.Tensor]:
        """Outputs after the stem and each stage, and the pooled features (NCHW)."""
        out = {}
        x = self.relu(self.bn1(self.conv1(x)))
        out["stem"] = x
        x = self.maxpool(x)
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
            out[f"layer{i}"] = x
        out["pooled"] = torch.flatten(self.avgpool(x), 1)
        return out

    def forward(self, x):
        return self.fc(self.stages(x)["pooled"])


class IntensityModel(nn.Module):
    """ResNet18 per frame -> bidirectional GRU -> Linear: clips [B, T, 3, H, W] -> [B, T]."""

    def __init__(self, gru_features: int = 256, temporal: str = "bigru"):
        super().__init__()
        self.encoder = ResNet18()
        self.encoder.fc = nn.Identity()
        self.temporal = temporal
        if temporal == "bigru":
            self.gru = nn.GRU(512, gru_features, batch_first=True, bidirectional=True)
            self.head = nn.Linear(2 * gru_features, 1)
        else:
            self.head = nn.Linear(512, 1)

    def forward(self, clips):
        b, t = clips.shape[:2]
        features = self.encoder(clips.flatten(0, 1)).view(b, t, -1)
        if self.temporal == "bigru":
            features, _ = self.gru(features)
        return self.head(features)[..., 0]
