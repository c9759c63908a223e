import pytest

import softmaxreg as d2l
from softmaxreg.book.hyperparameters import HyperParameters, add_to_class


def test_add_to_class_installs_method_and_keeps_the_name():
    class A:
        def __init__(self):
            self.b = 1

    @add_to_class(A)
    def do(self):
        return self.b + 1

    assert A().do() == 2
    assert callable(do)  # d2l's decorator returned None and blanked this name


def test_add_to_class_replaces_an_existing_method():
    class A:
        def f(self):
            return "old"

    @add_to_class(A)
    def f(self):
        return "new"

    assert A().f() == "new"


def test_save_hyperparameters_without_super_init():
    class Data(HyperParameters):
        def __init__(self, w, b, noise=0.01, *, num_train=1000):
            self.save_hyperparameters()

    data = Data(1, 2, num_train=5)
    assert (data.w, data.b, data.noise, data.num_train) == (1, 2, 0.01, 5)
    assert data.hparams == {"w": 1, "b": 2, "noise": 0.01, "num_train": 5}


def test_save_hyperparameters_skips_ignored_private_and_later_locals():
    class B(HyperParameters):
        def __init__(self, a, b, _private=3):
            c = 4  # noqa: F841 - a local, not an argument: it must not be saved
            self.save_hyperparameters(ignore=["b"])

    b = B(1, 2)
    assert b.hparams == {"a": 1}
    assert not hasattr(b, "b") and not hasattr(b, "_private") and not hasattr(b, "c")


def test_save_hyperparameters_keeps_varargs_and_kwargs():
    class C(HyperParameters):
        def __init__(self, *layers, **options):
            self.save_hyperparameters()

    c = C(1, 2, lr=0.5)
    assert c.layers == (1, 2) and c.options == {"lr": 0.5}


def test_module_subclass_saves_its_own_arguments():
    class Net(d2l.Module):
        def __init__(self, num_outputs, lr):
            super().__init__()
            self.save_hyperparameters()

    net = Net(3, lr=0.2)
    assert net.hparams == {"num_outputs": 3, "lr": 0.2}
    assert net.plot_train_per_epoch == 2  # the base class's own hyperparameters stay attributes


def test_public_add_to_class_is_the_same_function():
    assert d2l.add_to_class is add_to_class
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        d2l.nope  # noqa: B018
