"""TrainConfig: one validated place for the training settings."""

import re

import pytest

from softmaxreg.errors import ConfigError
from softmaxreg.runs.config import DEFAULTS, TrainConfig


def test_defaults_are_the_books():
    assert (DEFAULTS.epochs, DEFAULTS.lr, DEFAULTS.batch_size, DEFAULTS.model) == (10, 0.1, 256, "concise")
    assert DEFAULTS.weight_decay == 0 and DEFAULTS.early_stopping is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": -1}, "`lr` must be a positive number; got -1."),
        ({"lr": float("nan")}, "`lr` must be a positive number; got nan."),
        ({"batch_size": 0}, "`batch_size` must be a positive integer; got 0."),
        ({"epochs": 2.5}, "`epochs` must be a positive integer; got 2.5."),
        ({"model": "mlp"}, "`model` must be one of 'concise', 'scratch'; got 'mlp'."),
        ({"weight_decay": -0.1}, "`weight_decay` must be a non-negative number; got -0.1."),
        ({"seed": -3}, "`seed` must be a non-negative integer; got -3."),
        (
            {"seed": 2**64},
            "`seed` must be an integer from 0 to 18,446,744,073,709,551,615 (2**64 - 1); got 18446744073709551616.",
        ),
        ({"early_stopping": 0}, "`early_stopping` must be a positive integer; got 0."),
        ({"input_dropout": 1}, "`input_dropout` must be a probability in [0, 1); got 1."),
        ({"input_dropout": -0.1}, "`input_dropout` must be a probability in [0, 1); got -0.1."),
        ({"input_dropout": "0.1"}, "`input_dropout` must be a probability in [0, 1); got '0.1'."),
        ({"dropout": 0.5}, "Unknown training setting(s) dropout; expected epochs, lr,"),
    ],
)
def test_bad_settings_say_what_is_expected(changes, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        DEFAULTS.replace(**changes)


def test_the_largest_seed_is_one_torch_takes():
    import torch

    torch.manual_seed(DEFAULTS.replace(seed=2**64 - 1).seed)


def test_round_trip_through_a_dict_ignores_the_rest_of_config_json():
    config = TrainConfig(epochs=3, lr=0.5, early_stopping=2, input_dropout=0.25)
    assert TrainConfig.from_dict({**config.to_dict(), "device": "cpu", "environment": {}}) == config
    assert config.replace(lr=None, epochs=4) == TrainConfig(epochs=4, lr=0.5, early_stopping=2, input_dropout=0.25)
