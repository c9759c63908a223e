import torch
import torch.nn.functional as F

from softmaxreg import functional


def test_cross_entropy_matches_torch_on_ordinary_logits():
    torch.manual_seed(0)
    logits, y = torch.randn(64, 10, dtype=torch.float64), torch.randint(0, 10, (64,))
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            functional.cross_entropy(logits, y, reduction), F.cross_entropy(logits, y, reduction=reduction)
        )


def test_stable_where_naive_overflows():
    logits = torch.tensor([[1e4, 0.0, -1e4]])
    naive = torch.log(torch.exp(logits) / torch.exp(logits).sum())
    assert not torch.isfinite(naive).all()
    assert torch.isfinite(functional.log_softmax(logits)).all()
    assert functional.cross_entropy(logits, torch.tensor([1])).item() == 1e4


def test_softmax_rows_sum_to_one_and_accuracy():
    p = functional.softmax(torch.randn(5, 7) * 100)
    torch.testing.assert_close(p.sum(-1), torch.ones(5))
    assert functional.accuracy(torch.eye(4), torch.tensor([0, 1, 0, 0]), averaged=False).tolist() == [1, 1, 0, 0]
