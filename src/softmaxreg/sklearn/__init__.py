"""softmaxreg for scikit-learn: `SoftmaxRegressionClassifier`, our Trainer behind scikit-learn's API.

A layer beside ``commands``, wrapping softmaxreg for other software. May import: every layer below
(the core, ``book``, ``datasets``, ``models``, ``runs``) and scikit-learn, an optional extra
(``pip install "softmaxreg[sklearn]"``). Nothing in softmaxreg imports it, so ``import softmaxreg``
never imports scikit-learn. Inside it, ``import sklearn`` is scikit-learn (imports are absolute).

Examples:
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegressionClassifier(random_state=0).fit(X, y)
    >>> clf.coef_.shape, clf.score(X, y) > 0.9
    ((3, 4), True)
"""

try:
    import sklearn  # noqa: F401 - absolute: scikit-learn, not this package
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError('softmaxreg.sklearn needs scikit-learn: pip install "softmaxreg[sklearn]"') from None

from softmaxreg.sklearn.estimator import SoftmaxRegressionClassifier

__all__ = ["SoftmaxRegressionClassifier"]
