"""SoftmaxRegressionClassifier: scikit-learn's own estimator checks, then what users do with it."""

import os

# scikit-learn's check_array_api_input is skipped unless scipy was imported with this set; it checks
# that turning array-API dispatch on changes nothing for numpy input. Set before sklearn loads scipy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pickle  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse  # noqa: E402
import torch  # noqa: E402
from conftest import SRC  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks  # noqa: E402

from softmaxreg.sklearn import SoftmaxRegressionClassifier  # noqa: E402
from softmaxreg.sklearn.estimator import EXPECTED_FAILED_CHECKS  # noqa: E402


@parametrize_with_checks([SoftmaxRegressionClassifier()], expected_failed_checks=lambda _: EXPECTED_FAILED_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_check_estimator_passes_all_but_the_documented_checks():
    results = check_estimator(
        SoftmaxRegressionClassifier(), expected_failed_checks=EXPECTED_FAILED_CHECKS, on_skip=None, on_fail=None
    )
    status = {r["check_name"]: r["status"] for r in results}
    assert {name for name, s in status.items() if s not in ("passed", "xfail")} == set()
    assert {name for name, s in status.items() if s == "xfail"} == set(EXPECTED_FAILED_CHECKS)


@pytest.fixture(scope="module")
def digits():
    """600 of scikit-learn's 8×8 digits, pixels / 16: small enough to fit in a few hundred steps."""
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


# -- what the xfailed check means: weights are repetitions, exactly so without input dropout --------


def test_integer_sample_weights_equal_repeated_samples_without_input_dropout():
    rng = np.random.RandomState(42)
    X, y, weight = rng.rand(15, 30), rng.randint(0, 3, size=15), rng.randint(0, 5, size=15)
    weighted = SoftmaxRegressionClassifier(input_dropout=0, batch_size=256, random_state=0).fit(
        X, y, sample_weight=weight
    )
    repeated = SoftmaxRegressionClassifier(input_dropout=0, batch_size=256, random_state=0).fit(
        X.repeat(weight, 0), y.repeat(weight)
    )
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-6)
    unweighted = SoftmaxRegressionClassifier(input_dropout=0, batch_size=256, random_state=0).fit(X, y)
    assert np.abs(unweighted.predict_proba(X) - repeated.predict_proba(X)).max() > 1e-3  # the weights mattered


def test_sample_weights_shift_the_decision_towards_heavy_examples():
    X = np.array([[0.0], [1.0], [0.5], [0.5]])
    y = np.array([0, 1, 0, 1])
    heavy_one = SoftmaxRegressionClassifier(random_state=0).fit(X, y, sample_weight=[1, 1, 1, 10])
    heavy_zero = SoftmaxRegressionClassifier(random_state=0).fit(X, y, sample_weight=[1, 1, 10, 1])
    assert heavy_one.predict([[0.5]]) == [1] and heavy_zero.predict([[0.5]]) == [0]


def test_all_zero_sample_weights_are_refused():
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero number"):
        SoftmaxRegressionClassifier().fit([[0.0], [1.0]], [0, 1], sample_weight=[0, 0])


# -- labels, binary layout, inputs -----------------------------------------------------------------


def test_two_classes_look_like_logistic_regression():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[::2]
    y = y[::2]
    labels = np.where(y == 1, "benign", "malignant")
    ours = SoftmaxRegressionClassifier(random_state=0).fit(X, labels)
    theirs = LogisticRegression().fit(X, labels)
    assert ours.coef_.shape == theirs.coef_.shape == (1, 30) and ours.intercept_.shape == (1,)
    assert list(ours.classes_) == ["benign", "malignant"]
    scores = ours.decision_function(X)
    assert scores.shape == (len(X),)
    np.testing.assert_allclose(scores, X @ ours.coef_[0] + ours.intercept_[0])
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-12)
    assert list(ours.predict(X)) == list(np.where(scores > 0, "malignant", "benign"))
    assert (ours.predict(X) == theirs.predict(X)).mean() > 0.97


def test_many_classes_of_strings(digits):
    X, y = digits
    names = np.array(list("abcdefghij"))[y]
    clf = SoftmaxRegressionClassifier(random_state=0).fit(X, names)
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    assert clf.score(X, names) > 0.95
    np.testing.assert_allclose(clf.predict_log_proba(X[:5]), np.log(clf.predict_proba(X[:5])), rtol=1e-6)


def test_log_proba_is_finite_where_the_probability_underflows():
    clf = SoftmaxRegressionClassifier(random_state=0).fit([[0.0], [1.0]], [0, 1])
    far = np.array([[1e6]])
    assert clf.predict_proba(far)[0, 0] == 0.0
    assert np.isfinite(clf.predict_log_proba(far)).all()


def test_pandas_sparse_and_numpy_inputs_train_the_same_model(digits):
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    from_numpy = SoftmaxRegressionClassifier(random_state=0).fit(X, y)
    from_pandas = SoftmaxRegressionClassifier(random_state=0).fit(frame, y)
    from_sparse = SoftmaxRegressionClassifier(random_state=0).fit(scipy.sparse.csr_matrix(X), y)
    assert list(from_pandas.feature_names_in_) == list(frame.columns)
    assert not hasattr(from_numpy, "feature_names_in_")
    for model in (from_pandas, from_sparse):
        np.testing.assert_array_equal(model.coef_, from_numpy.coef_)
    np.testing.assert_allclose(
        from_sparse.decision_function(scipy.sparse.csr_matrix(X)), from_numpy.decision_function(X)
    )


# -- partial_fit -----------------------------------------------------------------------------------


def test_partial_fit_streams_chunks_to_the_accuracy_of_fit(digits):
    X, y = digits
    clf = SoftmaxRegressionClassifier(random_state=0)
    for _ in range(5):  # five passes over the data, read in chunks of 300 rows
        for start in range(0, len(X), 300):
            clf.partial_fit(X[start : start + 300], y[start : start + 300], classes=np.arange(10))
    assert clf.n_iter_ == 5 * 2
    assert clf.score(X, y) > SoftmaxRegressionClassifier(random_state=0).fit(X, y).score(X, y) - 0.03


def test_partial_fit_needs_the_classes_first_and_keeps_them():
    clf = SoftmaxRegressionClassifier()
    with pytest.raises(ValueError, match="`classes` must be given in the first call"):
        clf.partial_fit([[0.0]], [0])
    with pytest.raises(ValueError, match="not in `classes`"):
        clf.partial_fit([[0.0]], ["c"], classes=["a", "b"])
    clf.partial_fit([[0.0], [1.0]], ["a", "a"], classes=["a", "b"])  # a failed first call leaves nothing behind
    assert list(clf.classes_) == ["a", "b"]
    with pytest.raises(ValueError, match="not in `classes`"):
        clf.partial_fit([[0.0]], ["c"])


def test_partial_fit_carries_the_momentum_over_as_numpy():
    clf = SoftmaxRegressionClassifier(random_state=0).partial_fit([[0.0], [1.0]], [0, 1], classes=[0, 1])
    assert all(isinstance(buffer, np.ndarray) for buffer in clf._momentum_)
    before = clf.coef_.copy()
    clf.partial_fit([[0.0], [1.0]], [0, 1])
    assert not np.array_equal(before, clf.coef_)


# -- scikit-learn's machinery: pipeline, grid search, clone, pickle --------------------------------


def test_pipeline_grid_search_and_cross_validation():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SoftmaxRegressionClassifier(random_state=0))
    grid = GridSearchCV(pipe, {"softmaxregressionclassifier__alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert grid.best_score_ > 0.85 and grid.best_params_["softmaxregressionclassifier__alpha"] in (1e-4, 1e-2)
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.85


def test_pickled_estimator_is_plain_numpy_and_predicts_the_same(digits):
    X, y = digits
    clf = SoftmaxRegressionClassifier(random_state=0).fit(X, y)
    for name, value in vars(clf).items():
        leaves = value if isinstance(value, tuple) else (value,)
        assert not any(isinstance(leaf, (torch.Tensor, torch.nn.Module)) for leaf in leaves), name
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert clone(clf).get_params() == clf.get_params() and not hasattr(clone(clf), "coef_")


def test_same_random_state_same_model_and_the_callers_torch_state_untouched(digits):
    X, y = digits
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = SoftmaxRegressionClassifier(random_state=7).fit(X, y)
    assert torch.equal(torch.rand(3), expected_next)
    b = SoftmaxRegressionClassifier(random_state=7).fit(X, y)
    c = SoftmaxRegressionClassifier(random_state=8).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


# -- the SGD/MLP parameters ------------------------------------------------------------------------


def test_warm_start_continues_from_the_last_fit(digits):
    X, y = digits
    cold = SoftmaxRegressionClassifier(max_iter=1, random_state=0).fit(X, y)
    warm = SoftmaxRegressionClassifier(max_iter=1, random_state=0, warm_start=True).fit(X, y)
    first = warm.coef_.copy()
    warm.fit(X, y)
    np.testing.assert_array_equal(first, cold.coef_)
    assert warm.score(X, y) > cold.score(X, y)
    with pytest.raises(ValueError, match="warm_start needs the classes of the previous fit"):
        warm.fit(X[y < 5], y[y < 5])


def test_tol_and_early_stopping_stop_before_max_iter(digits):
    X, y = digits
    assert SoftmaxRegressionClassifier(max_iter=100, tol=0.05, random_state=0).fit(X, y).n_iter_ < 100
    early = SoftmaxRegressionClassifier(max_iter=100, early_stopping=True, random_state=0).fit(X, y)
    assert early.n_iter_ < 100 and early.score(X, y) > 0.9
    assert SoftmaxRegressionClassifier(max_iter=3, random_state=0).fit(X, y).n_iter_ == 3


def test_recipe_seed_is_plain_sgd_and_parameters_override_the_recipe(digits):
    X, y = digits
    settings = SoftmaxRegressionClassifier(recipe="seed")._settings(0, len(y))
    assert (settings.epochs, settings.lr, settings.momentum, settings.schedule, settings.input_dropout) == (
        10, 0.1, 0.0, "constant", 0.0,
    )  # fmt: skip
    best = SoftmaxRegressionClassifier(max_iter=3, alpha=0.5)._settings(0, 60000)
    assert (best.epochs, best.alpha, best.lr, best.batch_size, best.schedule) == (3, 0.5, 0.3, 256, "cosine")
    small = SoftmaxRegressionClassifier()._settings(0, 120)
    assert (small.batch_size, small.alpha) == (15, 3 / 120)  # at least 8 batches per epoch, penalty 3 / n
    assert SoftmaxRegressionClassifier()._settings(0, 120, full_fit=False).alpha == 1e-4  # partial_fit's chunks


@pytest.mark.parametrize("n, epochs", [(60000, 6), (48000, 6), (20000, 14), (10000, 20), (1437, 20), (120, 20)])
def test_best_trains_large_data_for_6_epochs_and_small_data_for_20(n, epochs):
    """max_iter=None: enough epochs for 1,100 minibatches, between 6 and the recipe's 20 (measured)."""
    assert SoftmaxRegressionClassifier()._settings(0, n).epochs == epochs
    assert SoftmaxRegressionClassifier(max_iter=9)._settings(0, n).epochs == 9
    assert SoftmaxRegressionClassifier(recipe="seed")._settings(0, n).epochs == 10


def test_a_default_fit_on_large_data_runs_6_epochs():
    X = np.random.default_rng(0).normal(size=(60000, 4)).astype(np.float32)
    clf = SoftmaxRegressionClassifier(random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    assert clf.n_iter_ == 6 and clf.score(X, (X[:, 0] > 0).astype(int)) > 0.99


def test_verbose_prints_one_line_per_epoch(capsys):
    SoftmaxRegressionClassifier(max_iter=3, verbose=1).fit([[0.0], [1.0]], [0, 1])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/3"], ["epoch", "2/3"], ["epoch", "3/3"]]


@pytest.mark.parametrize(
    "params, message",
    [({"alpha": -1.0}, "'alpha' parameter"), ({"recipe": "fast"}, "'recipe' parameter"),
     ({"learning_rate_init": 0.0}, "'learning_rate_init' parameter"), ({"momentum": 1.0}, "'momentum' parameter")],
)  # fmt: skip
def test_bad_parameters_are_one_clear_error(params, message):
    with pytest.raises(ValueError, match=message):
        SoftmaxRegressionClassifier(**params).fit([[0.0], [1.0]], [0, 1])


def test_one_class_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="needs samples of at least 2 classes"):
        SoftmaxRegressionClassifier().fit([[0.0], [1.0]], [3, 3])


# -- packaging -------------------------------------------------------------------------------------


def test_without_scikit_learn_the_import_names_the_extra():
    code = "import sys; sys.modules['sklearn'] = None; import softmaxreg.sklearn"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(SRC)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'ImportError: softmaxreg.sklearn needs scikit-learn: pip install "softmaxreg[sklearn]"'
    )
