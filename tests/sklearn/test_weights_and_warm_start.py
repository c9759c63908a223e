"""SoftmaxRegressionClassifier's sample weights and warm start, as scikit-learn's SGDClassifier has them."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.preprocessing import StandardScaler

from softmaxreg.sklearn import SoftmaxRegressionClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _partial_coef(X, y, weight):
    clf = SoftmaxRegressionClassifier(input_dropout=0, random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y), sample_weight=np.full(len(y), weight))
    return clf.coef_


def test_partial_fit_takes_a_chunks_weight_as_it_is(digits):
    """A weight the same across a chunk scales its loss (SGDClassifier's semantics): 1e-6 hardly moves
    the model, 2 moves it about as far as two copies; it is not rescaled away per call."""
    X, y = digits[0][:600], digits[1][:600]
    tiny, one, two = (_partial_coef(X, y, w) for w in (1e-6, 1.0, 2.0))
    assert np.abs(tiny).max() < 1e-4 * np.abs(one).max()
    assert np.abs(two - one).max() > 0.1 * np.abs(one).max()
    clf = SoftmaxRegressionClassifier(input_dropout=0, random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(clf.coef_, one, rtol=1e-5, atol=1e-6)  # a weight of 1 is no weight


@pytest.mark.parametrize("scale", [1 / 150, 10.0])
def test_fit_takes_its_batches_and_epochs_from_the_rows_not_the_weights(scale):
    """Weights the same for every row, summing to 1 or to 1,500 (iris' 150 rows): the batch size and
    number of epochs are those of the unweighted fit (8 batches of 19 per epoch), not one row per
    batch nor one batch per epoch."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = {"random_state": 0, "alpha": 1e-4, "input_dropout": 0}  # alpha fixed: it follows the weights' sum
    plain = SoftmaxRegressionClassifier(**params).fit(X, y)
    weighted = SoftmaxRegressionClassifier(**params).fit(X, y, sample_weight=np.full(len(y), scale))
    assert weighted.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(weighted.coef_, plain.coef_, rtol=1e-5, atol=1e-6)


def test_warm_start_with_other_features_is_refused_and_keeps_the_fitted_model(digits):
    X, y = digits
    clf = SoftmaxRegressionClassifier(max_iter=1, random_state=0, warm_start=True).fit(X, y)
    before = clf.predict(X), clf.coef_.copy(), clf.n_features_in_
    with pytest.raises(ValueError, match="X has 10 features, but SoftmaxRegressionClassifier is expecting 64 features"):
        clf.fit(X[:, :10], y)
    assert clf.n_features_in_ == 64
    np.testing.assert_array_equal(clf.coef_, before[1])
    np.testing.assert_array_equal(clf.predict(X), before[0])  # still predicts on its own data
