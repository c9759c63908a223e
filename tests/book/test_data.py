import pytest
import torch

import softmaxreg as d2l
from softmaxreg.book.data import TensorLoader
from softmaxreg.errors import ConfigError


def test_batches_are_slices_in_order_without_shuffle():
    X = torch.arange(10).reshape(10, 1)
    loader = TensorLoader((X, torch.arange(10)), batch_size=4)
    assert len(loader) == 3
    assert [b[1].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_shuffled_epoch_is_a_permutation_and_changes_each_epoch():
    torch.manual_seed(0)
    loader = TensorLoader((torch.arange(100), torch.arange(100) * 2), batch_size=7, shuffle=True)
    first = torch.cat([b[0] for b in loader])
    second = torch.cat([b[0] for b in loader])
    assert sorted(first.tolist()) == list(range(100)) and sorted(second.tolist()) == list(range(100))
    assert not torch.equal(first, second)
    for X, y in loader:  # pairs stay together
        assert torch.equal(y, X * 2)


def test_shuffle_follows_the_global_seed():
    loader = TensorLoader((torch.arange(50),), batch_size=50, shuffle=True)
    torch.manual_seed(3)
    a = next(iter(loader))[0]
    torch.manual_seed(3)
    b = next(iter(loader))[0]
    assert torch.equal(a, b)


def test_transform_is_applied_per_batch():
    loader = TensorLoader((torch.ones(3),), batch_size=2, transform=lambda b: (b[0] * 5,))
    assert [b[0].tolist() for b in loader] == [[5.0, 5.0], [5.0]]


def test_unequal_lengths_and_bad_batch_size_are_refused():
    with pytest.raises(ValueError, match=r"equal length; got lengths \[3, 2\]"):
        TensorLoader((torch.ones(3), torch.ones(2)), batch_size=1)
    with pytest.raises(ConfigError, match="`batch_size` must be a positive integer; got 0"):
        TensorLoader((torch.ones(3),), batch_size=0)


def test_data_module_subclass_without_super_init_gets_tensorloaders():
    """The book's SyntheticRegressionData-style class sets only what it needs."""

    class Data(d2l.DataModule):
        def __init__(self, n=20, batch_size=8):
            self.save_hyperparameters()
            self.X = torch.randn(n, 2)
            self.y = self.X.sum(1, keepdim=True)

        def get_dataloader(self, train):
            i = slice(0, 12) if train else slice(12, None)
            return self.get_tensorloader((self.X, self.y), train, i)

    data = Data()
    assert len(data.train_dataloader()) == 2 and len(data.val_dataloader()) == 1
    X, y = next(iter(data.val_dataloader()))
    assert X.shape == (8, 2) and torch.equal(X, data.X[12:])
    assert data.num_workers == 0 and data.root is None


def test_base_data_module_must_define_get_dataloader():
    with pytest.raises(NotImplementedError, match="must define get_dataloader"):
        d2l.DataModule().train_dataloader()
