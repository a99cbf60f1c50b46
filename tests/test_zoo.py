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
])
def test_published_parameter_counts(name, kwargs, published):
    model = hubel.zoo.get(name, **kwargs)
    # published counts are learnable parameters (BN running statistics are buffers)
    assert sum(w.data.size for w in model.trainable_weights) == published


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


CASES = {
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
    # gradients of the same loss (training mode) for the first and last weights
    labels = np.array([0, 1, 2])
    TF.cross_entropy(ty, torch.tensor(labels)).backward()
    hubel.losses.SparseCategoricalCrossentropy(True)(labels, hy).backward()
    first_t = next(net.parameters()).grad.numpy().transpose(2, 3, 1, 0)
    last_t = list(net.parameters())[-2].grad.numpy().T
    for got, want in [(model.weights[0].grad, first_t), (model.weights[-2].grad, last_t)]:
        # float32 rounding grows with the gradients' size (random weights make them big)
        np.testing.assert_allclose(got, want, atol=2e-4 + 1e-5 * np.abs(want).max(),
                                   rtol=2e-3)


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
