import pytest
import torch

import softmaxreg as d2l
from softmaxreg.errors import ConfigError


def test_synthetic_module_shapes_and_types(fake_fashion):
    data = d2l.FashionMNIST(batch_size=32, root=fake_fashion)
    assert len(data.train) == 96 and len(data.val) == 40
    image, label = data.train[5]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and isinstance(label, int)
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (32, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert len(data.train_dataloader()) == 3 and len(data.val_dataloader()) == 2


def test_val_loader_is_in_file_order_and_matches_items(fake_fashion):
    data = d2l.FashionMNIST(batch_size=16, root=fake_fashion)
    X, y = next(iter(data.val_dataloader()))
    for i in range(16):
        image, label = data.val[i]
        assert torch.equal(X[i], image) and y[i].item() == label


def test_resize_once_up_front(fake_fashion):
    data = d2l.FashionMNIST(batch_size=8, resize=(32, 32), root=fake_fashion)
    assert data.train[0][0].shape == (1, 32, 32)
    assert data.train.images.dtype == torch.uint8
    assert next(iter(data.val_dataloader()))[0].shape == (8, 1, 32, 32)


@pytest.mark.parametrize("resize", [(0, 28), (28,), "big", (28.5, 28), None])
def test_bad_resize_is_refused(fake_fashion, resize):
    with pytest.raises(ConfigError, match=r"`resize` must be a pair of positive integers"):
        d2l.FashionMNIST(resize=resize, root=fake_fashion)


def test_bad_batch_size_is_refused_before_loading(tmp_path):
    with pytest.raises(ConfigError, match="`batch_size` must be a positive integer; got -3"):
        d2l.FashionMNIST(batch_size=-3, root=tmp_path)


def test_text_labels_english_and_vietnamese(fake_fashion):
    data = d2l.FashionMNIST(root=fake_fashion)
    assert data.text_labels(torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])) == [
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
    ]  # fmt: skip
    assert data.text_labels([5, 7], lang="vi") == ["dép xăng-đan", "giày thể thao"]
    with pytest.raises(ConfigError, match="label must be in 0..9; got 10"):
        data.text_labels([10])


def test_book_dataloader_over_the_datasets_with_workers(fake_fashion):
    """The book replaces get_dataloader with a torch DataLoader over data.train / data.val."""
    data = d2l.FashionMNIST(batch_size=32, root=fake_fashion, num_workers=2)

    @d2l.add_to_class(d2l.FashionMNIST)
    def get_dataloader(self, train):
        data = self.train if train else self.val
        return torch.utils.data.DataLoader(data, self.batch_size, shuffle=train, num_workers=self.num_workers)

    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (32, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64


@pytest.mark.real_data
def test_real_fashion_mnist(fashion):
    assert len(fashion.train) == 60000 and len(fashion.val) == 10000
    X, y = next(iter(fashion.train_dataloader()))
    assert X.shape == (256, 1, 28, 28) and y.shape == (256,)
    assert torch.bincount(fashion.train.labels).tolist() == [6000] * 10
    assert torch.bincount(fashion.val.labels).tolist() == [1000] * 10
    assert fashion.text_labels([fashion.val[0][1]]) == ["ankle boot"]  # the first test image
