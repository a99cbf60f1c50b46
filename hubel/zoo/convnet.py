"""The lecture's architecture grammar as a model:

    INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC

with optional batch normalization after each convolution and dropout before each fully
connected layer. The default (two blocks of two 3x3 convolutions, 32 then 64 filters, one
FC layer of 128; 468,394 parameters, 18.7 M multiply-adds per 28x28 image) is the zoo's
small CNN for 28x28 images.
"""

from __future__ import annotations

from hubel.models import Sequential
from hubel.models.builders import build_convnet


def convnet(input_shape=(28, 28, 1), num_classes: int = 10, blocks=((2, 32), (2, 64)),
            fc=(128,), batch_norm: bool = True, dropout: float = 0.3, pool: bool = True,
            softmax: bool = True, name: str = "convnet") -> Sequential:
    """`blocks`: (N convolutions, filters) per block, each block ending in 2x2 max-pooling
    (pool=True); `fc`: the hidden fully connected widths (K = len(fc)). Built by
    hubel.models.builders.build_convnet."""
    return build_convnet(input_shape, num_classes, N=[n for n, _ in blocks], M=len(blocks),
                         K=len(fc), filters=[f for _, f in blocks], fc_units=list(fc),
                         pool=pool, batch_norm=batch_norm, dropout=dropout, softmax=softmax,
                         name=name)
