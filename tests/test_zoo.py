"""The zoo: published parameter counts; outputs and gradients equal PyTorch reference
models (plain torch.nn, written here) after loading their weights with hubel.io; every
model trains (its loss falls over a few steps on a fixed batch); save/load round trip."""

import warnings

import numpy as np
import pytest

import hubel
from hubel.io import load_torch_weights
from hubel.models import load_model

torch = pytest.importorskip("torch")
nn, TF = torch.nn, torch.nn.functional


@pytest.mark.parametrize("name, kwargs, published", [
    # torchvision's model cards / the papers
    ("vgg11", {}, 132_863_336), ("vgg16", {}, 138_357_544), ("vgg19", {}, 143_667_240),
    ("resnet18", {}, 11_689_512), ("resnet34", {}, 21_797_672),
    ("resnet50", {}, 25_557_032), ("resnet101", {}, 44_549_160),
    ("resnet152", {}, 60_192_808),
    ("alexnet", {"two_tower": False, "input_shape": (224, 224, 3)}, 61_100_840),
    ("alexnet", {}, 60_965_224),  # the grouped original (Krizhevsky et al. 2012)
    ("resnet20", {}, 269_722),  # He et al. 2016, Table 6: 0.27M
    ("lenet5", {}, 61_706),
    ("vgg13", {}, 133_047_848),  # torchvision; the VGG paper's Table 2 rounds A/B to 133M
])
def test_published_parameter_counts(name, kwargs, published):
    model = hubel.zoo.get(name, **kwargs)
    # published counts are learnable parameters (BN running statistics are buffers)
    assert sum(w.data.size for w in model.trainable_weights) == published


@pytest.mark.parametrize("name, kwargs, published", [
    # torchvision's model cards ("GFLOPS" there counts multiply-adds), the figure the
    # ResNet paper's Table 1 gives for 18/34 layers (1.8, 3.6; its 50/101/152 figures 3.8,
    # 7.6, 11.3 are for stride on the first 1x1 conv, torchvision's v1.5 strides the 3x3)
    ("resnet18", {}, 1.81), ("resnet34", {}, 3.66), ("resnet50", {}, 4.09),
    ("resnet101", {}, 7.80), ("resnet152", {}, 11.51),
    ("vgg11", {}, 7.61), ("vgg16", {}, 15.47), ("vgg19", {}, 19.63),
    ("alexnet", {"two_tower": False, "input_shape": (224, 224, 3)}, 0.71),
])
def test_published_multiply_adds(name, kwargs, published):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = hubel.zoo.get(name, **kwargs).summary(as_data=True)
    assert round(sum(r["macs"] for r in rows) / 1e9, 2) == published


def test_googlenet_multiply_adds_near_the_paper():
    # Szegedy et al. 2015: "1.5 billion multiply-adds" at inference (LRN and pooling not
    # counted, as in summary())
    rows = hubel.zoo.googlenet().summary(as_data=True)
    assert abs(sum(r["macs"] for r in rows) / 1.5e9 - 1) < 0.06


def _randomize(net):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.rand(p.shape, generator=g) * 0.6 - 0.3)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return net


def torch_lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


class Basic(nn.Module):
    def __init__(self, cin, cout, stride, option_a):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5)
        self.option_a, self.stride, self.pad = option_a, stride, cout - cin
        self.down = None
        if (stride != 1 or cin != cout) and not option_a:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout, eps=1e-5))

    def forward(self, x):
        y = self.bn2(self.conv2(TF.relu(self.bn1(self.conv1(x)))))
        if self.down is not None:
            x = self.down(x)
        elif self.stride != 1 or self.pad:
            x = TF.pad(x[:, :, ::self.stride, ::self.stride],
                       (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return TF.relu(y + x)


class TorchResNet(nn.Module):
    """torchvision-style ResNet-18 (cifar=False) or the CIFAR ResNet-20 (cifar=True)."""

    def __init__(self, cifar: bool, classes: int):
        super().__init__()
        if cifar:
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                      nn.ReLU())
            widths, n, cin = (16, 32, 64), 3, 16
        else:
            self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                      nn.ReLU(), nn.MaxPool2d(3, 2, 1))
            widths, n, cin = (64, 128, 256, 512), 2, 64
        blocks = []
        for i, w in enumerate(widths):
            for j in range(n):
                blocks.append(Basic(cin, w, 2 if i and not j else 1, cifar))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


def torch_vgg11_32(classes):
    layers, cin = [], 3
    for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
            cin = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 64), nn.ReLU(),
                         nn.Dropout(0.0), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.0),
                         nn.Linear(64, classes))


def torch_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(48, 16), nn.ReLU(), nn.Linear(16, 8),
                         nn.ReLU(), nn.Linear(8, 4))


def torch_lecun1990():
    return nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 10))


def torch_alexnet(two_tower: bool, classes: int):
    """At 67x67: 15 -> 7 -> 7 -> 3 -> 3 -> 1 (flatten 256); dropout 0 so both agree."""
    lrn = (lambda: [nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)]) if two_tower else list
    w = (96, 256, 384, 384, 256) if two_tower else (64, 192, 384, 256, 256)
    g = 2 if two_tower else 1
    return nn.Sequential(
        nn.Conv2d(3, w[0], 11, 4, 0 if two_tower else 2), nn.ReLU(), *lrn(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(w[0], w[1], 5, padding=2, groups=g), nn.ReLU(), *lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(w[1], w[2], 3, padding=1), nn.ReLU(),
        nn.Conv2d(w[2], w[3], 3, padding=1, groups=g), nn.ReLU(),
        nn.Conv2d(w[3], w[4], 3, padding=1, groups=g), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(0.0), nn.Linear(w[4], 4096), nn.ReLU(), nn.Dropout(0.0),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, classes))


def torch_zfnet(classes: int):
    """At 64x64: 30 -> 15 -> 6 -> 3 -> 3 -> 1; ZFNet's padded 3x3/2 pools are ceil mode."""
    return nn.Sequential(
        nn.Conv2d(3, 96, 7, 2, 1), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(96, 256, 5, 2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1),
        nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(256, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, classes))


class Inception(nn.Module):
    def __init__(self, cin, c1, r3, c3, r5, c5, pp):
        super().__init__()

        def conv(a, b, k):
            return nn.Sequential(nn.Conv2d(a, b, k, padding=k // 2), nn.ReLU())
        self.b1 = conv(cin, c1, 1)
        self.b3 = nn.Sequential(conv(cin, r3, 1), conv(r3, c3, 3))
        self.b5 = nn.Sequential(conv(cin, r5, 1), conv(r5, c5, 5))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv(cin, pp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


class TorchGoogLeNet(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        from hubel.zoo.googlenet import INCEPTION

        def block(cin, key):
            return Inception(cin, *INCEPTION[key])
        pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        lrn = nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0)
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3), nn.ReLU(), pool, lrn,
                                  nn.Conv2d(64, 64, 1), nn.ReLU(),
                                  nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(), lrn, pool)
        self.body = nn.Sequential(block(192, "3a"), block(256, "3b"), pool,
                                  block(480, "4a"), block(512, "4b"), block(512, "4c"),
                                  block(512, "4d"), block(528, "4e"), pool,
                                  block(832, "5a"), block(832, "5b"))
        self.fc = nn.Linear(1024, classes)

    def forward(self, x):
        return self.fc(self.body(self.stem(x)).mean((2, 3)))


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, 4 * width, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * width)
        self.down = None
        if stride != 1 or cin != 4 * width:
            self.down = nn.Sequential(nn.Conv2d(cin, 4 * width, 1, stride, bias=False),
                                      nn.BatchNorm2d(4 * width))

    def forward(self, x):
        y = TF.relu(self.bn1(self.conv1(x)))
        y = TF.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return TF.relu(y + (x if self.down is None else self.down(x)))


class TorchResNet50(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for i, (n, w) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
            for j in range(n):
                blocks.append(Bottleneck(cin, w, 2 if i and not j else 1))
                cin = 4 * w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


CASES = {
    "mlp": (lambda: hubel.zoo.mlp((4, 4, 3), 4, hidden=(16, 8), softmax=False), torch_mlp,
            (4, 4, 3)),
    "lecun1990": (lambda: hubel.zoo.lecun1990(softmax=False), torch_lecun1990, (28, 28, 1)),
    "alexnet": (lambda: hubel.zoo.alexnet((67, 67, 3), 5, dropout=0.0, softmax=False),
                lambda: torch_alexnet(True, 5), (67, 67, 3)),
    "alexnet_single": (lambda: hubel.zoo.alexnet((67, 67, 3), 5, two_tower=False, dropout=0.0,
                                                 softmax=False),
                       lambda: torch_alexnet(False, 5), (67, 67, 3)),
    "zfnet": (lambda: hubel.zoo.zfnet((64, 64, 3), 5, dropout=0.0, softmax=False),
              lambda: torch_zfnet(5), (64, 64, 3)),
    "googlenet": (lambda: hubel.zoo.googlenet((64, 64, 3), 5, dropout=0.0, softmax=False),
                  lambda: TorchGoogLeNet(5), (64, 64, 3)),
    "resnet50": (lambda: hubel.zoo.resnet50(input_shape=(64, 64, 3), num_classes=5,
                                            softmax=False),
                 lambda: TorchResNet50(5), (64, 64, 3)),
    "lenet5": (lambda: hubel.zoo.lenet5(softmax=False), torch_lenet5, (28, 28, 1)),
    "resnet20": (lambda: hubel.zoo.resnet20(num_classes=7, softmax=False),
                 lambda: TorchResNet(True, 7), (32, 32, 3)),
    "resnet18": (lambda: hubel.zoo.resnet18(input_shape=(64, 64, 3), num_classes=5,
                                            softmax=False),
                 lambda: TorchResNet(False, 5), (64, 64, 3)),
    "vgg11": (lambda: hubel.zoo.vgg11(input_shape=(32, 32, 3), num_classes=5, fc_units=64,
                                      dropout=0.0, softmax=False),
              lambda: torch_vgg11_32(5), (32, 32, 3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_and_gradients_equal_pytorch(name):
    make, make_torch, shape = CASES[name]
    model, net = make(), _randomize(make_torch())
    load_torch_weights(model, net.state_dict())
    x = np.random.default_rng(1).standard_normal((3, *shape)).astype(np.float32)
    xt = torch.tensor(x.transpose(0, 3, 1, 2))
    for training in (False, True):
        net.train(training)
        ty = net(xt)
        hy = model(x, training=training)
        scale = float(ty.detach().abs().max())
        np.testing.assert_allclose(hy.data, ty.detach().numpy(), atol=2e-4 * max(scale, 1),
                                   rtol=1e-3)
    # gradients of the same loss in float64 (float32 rounding through fifty random layers
    # would hide a real difference), for every parameter
    net.double()
    for w in model.weights:
        w.data = w.data.astype(np.float64)
    labels = np.array([0, 1, 2])
    TF.cross_entropy(net(xt.double()), torch.tensor(labels)).backward()
    y = model(x.astype(np.float64), training=True)
    hubel.losses.SparseCategoricalCrossentropy(True)(labels, y).backward()
    # the torch gradients, brought into hubel's layout by the same loader as the weights
    grads = net.state_dict()
    grads.update({k: p.grad for k, p in net.named_parameters()})
    want = make()
    load_torch_weights(want, grads)
    checked = 0
    for got, ref in zip(model.weights, want.weights):
        if got.requires_grad:
            np.testing.assert_allclose(got.grad, ref.data, rtol=1e-4,
                                       atol=1e-6 * max(np.abs(ref.data).max(), 1),
                                       err_msg=got.name)
            checked += 1
    assert checked == len(list(net.parameters()))


def test_mismatched_state_dict_lists_the_problems():
    net = torch_lenet5()
    state = net.state_dict()
    state["extra.weight"] = torch.zeros(3)
    with pytest.raises(ValueError, match="unexpected: extra.weight"):
        load_torch_weights(hubel.zoo.lenet5(), state)
    bad = hubel.zoo.lenet5(num_classes=7)
    with pytest.raises(ValueError, match=r"shapes do not fit"):
        load_torch_weights(bad, net.state_dict())


def test_safetensors_state_dict_file(tmp_path):
    from safetensors.torch import save_file

    net = _randomize(torch_lenet5())
    save_file(net.state_dict(), str(tmp_path / "lenet.safetensors"))
    torch.save(net.state_dict(), tmp_path / "lenet.pt")
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    want = net.eval()(torch.tensor(x.transpose(0, 3, 1, 2))).detach().numpy()
    for name in ["lenet.safetensors", "lenet.pt"]:
        model = hubel.zoo.lenet5(softmax=False)
        load_torch_weights(model, tmp_path / name)
        np.testing.assert_allclose(model.predict(x), want, atol=1e-4)


SMALL = {  # every zoo model at a small input: one step runs and the loss falls
    "perceptron": {"input_shape": (4,), "num_classes": 1},
    "mlp": {"input_shape": (12,), "num_classes": 3, "hidden": (8,)},
    "lecun1990": {"input_shape": (16, 16, 1), "num_classes": 3},
    "lenet5": {"input_shape": (28, 28, 1), "num_classes": 3},
    "convnet": {"input_shape": (16, 16, 1), "num_classes": 3},
    "alexnet": {"input_shape": (67, 67, 3), "num_classes": 3},
    "zfnet": {"input_shape": (64, 64, 3), "num_classes": 3},
    "vgg11": {"input_shape": (32, 32, 3), "num_classes": 3, "fc_units": 32},
    "vgg16": {"input_shape": (32, 32, 3), "num_classes": 3, "fc_units": 32,
              "batch_norm": True},
    "googlenet": {"input_shape": (64, 64, 3), "num_classes": 3},
    "resnet20": {"num_classes": 3},
    "resnet50": {"input_shape": (32, 32, 3), "num_classes": 3},
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_model_trains(name):
    hubel.seed(0)
    kwargs = dict(SMALL[name])
    binary = kwargs.get("num_classes") == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = hubel.zoo.get(name, **kwargs) if binary else hubel.zoo.get(name, softmax=False,
                                                                              **kwargs)
        x = np.random.default_rng(0).standard_normal((4, *kwargs.get("input_shape",
                                                                     (32, 32, 3))))
        if binary:
            y = np.array([[0.0], [1.0], [1.0], [0.0]])
            model.compile(optimizer=hubel.optimizers.Adam(1e-3), loss="binary_crossentropy")
        else:
            y = np.array([0, 1, 2, 1])
            model.compile(optimizer=hubel.optimizers.Adam(1e-3),
                          loss=hubel.losses.SparseCategoricalCrossentropy(from_logits=True))
        before = _eval_loss(model, x, y)
        for _ in range(5):
            model.train_on_batch(x, y)
        after = _eval_loss(model, x, y)
    assert np.isfinite(after) and after < before, (before, after)


def _eval_loss(model, x, y) -> float:
    """The loss with dropout off and batch norm on its running statistics."""
    result = model.evaluate(x, y, verbose=0)
    return float(result["loss"] if isinstance(result, dict) else result)


def test_functional_zoo_model_round_trip(tmp_path):
    model = hubel.zoo.resnet20(num_classes=4)
    model.save(tmp_path / "r20.safetensors")
    again = load_model(tmp_path / "r20.safetensors")
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
