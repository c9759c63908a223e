"""Tables: ``.csv`` and ``.parquet`` (read by pyarrow, the ``tables`` extra) and ``.npz`` (numpy).

A table has a label column (``--label``, default ``label``) and numeric columns:

- columns all named ``pixel...`` (Kaggle's ``fashion-mnist_train.csv``: ``label,pixel1,...,pixel784``),
  or any columns with ``--image-shape HxW[xC]``: a table of images, values 0..255, row-major
  (``H``, ``W``, then ``C``); without ``--image-shape`` the images are square and grey;
- any other numeric columns: features, their names kept (the model's input, standardised later
  with the training split's statistics).

Rows are numbered from 1 (the header is not a row). The number of columns is checked from the
header (CSV) or the metadata (Parquet, ``.npz``) before the table is read, so a table too wide to be
a softmax regression's input is refused at once.

``.npz`` files hold arrays, not columns: ``x_train, y_train[, x_test, y_test]`` (Keras's
``mnist.npz``) or ``x, y`` (or ``X, y``); ``x`` of shape ``(N, F)`` are features (named by an
optional ``feature_names`` array), ``(N, H, W)`` or ``(N, H, W, C)`` uint8 are images; an optional
``class_names`` array names the labels.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from softmaxreg._extras import import_extra
from softmaxreg.datasets.own import (
    DataOptions,
    OwnData,
    check_classes,
    light_on_dark,
    split_by_ids,
    stratified_split,
    take,
)
from softmaxreg.errors import DataError

MAX_COLUMNS = 1_000_000  # a 1000×1000 grey image; beyond that, a linear model's weights alone are gigabytes
_BLOCK = 1 << 20


# -- reading columns ---------------------------------------------------------------------------------


def _too_wide(path: Path, count: str) -> DataError:
    return DataError(
        f"Expected a table of at most {MAX_COLUMNS:,} columns in {path}; it has {count}. Keep the columns the "
        "model should use (e.g. with pandas or pyarrow) and try again."
    )


def check_csv_width(path: Path) -> None:
    """Count the header's columns, reading at most until the limit is passed.

    Raises:
        DataError: more than `MAX_COLUMNS` columns.
    """
    commas = 0
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            line, newline, _ = block.partition(b"\n")
            commas += line.count(b",")
            if commas >= MAX_COLUMNS:
                raise _too_wide(path, f"more than {MAX_COLUMNS:,}")
            if newline:
                return


def _read_arrow(path: Path) -> Any:
    """The table as a ``pyarrow.Table``, its width checked first."""
    suffix = path.suffix.lower()
    pa_purpose = f"Reading {path.name} ({suffix} tables)"
    import_extra("pyarrow", "tables", pa_purpose)
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            width = pq.ParquetFile(path).metadata.num_columns
            if width > MAX_COLUMNS:
                raise _too_wide(path, f"{width:,}")
            return pq.read_table(path)
        import pyarrow.csv as pacsv

        check_csv_width(path)
        return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=False))
    except DataError:
        raise
    except Exception as err:  # pyarrow's ArrowInvalid & co. for a malformed file
        reason = " ".join(str(err).split())[:300]
        raise DataError(
            f"Expected a well-formed {suffix[1:].upper()} table in {path}; pyarrow says: {reason}"
        ) from None


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _missing(path: Path, row: int, column: str, what: str = "a number") -> DataError:
    return DataError(
        f"Expected {what} in row {row + 1}, column `{column}` of {path}; the value is missing. "
        "Fill it in, or drop the row."
    )


def _numeric_column(table: Any, name: str, path: Path) -> np.ndarray:
    """One column as float64; a missing or non-numeric value is one line naming its row and column."""
    import pyarrow as pa

    column = table.column(name)
    if column.null_count:
        raise _missing(path, _first(column.is_null().to_numpy(zero_copy_only=False)), name)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_boolean(column.type):
        return column.to_numpy().astype(np.float64, copy=False)
    for row, value in enumerate(column.to_pylist()):
        try:
            float(value)
        except (TypeError, ValueError):
            if isinstance(value, str) and not value.strip():
                raise _missing(path, row, name) from None
            raise DataError(
                f"Expected a number in row {row + 1}, column `{name}` of {path}; got {str(value)[:40]!r}. "
                "Fix the value, or leave the column out of the table."
            ) from None
    return np.array(column.to_pylist(), dtype=np.float64)


def _label_values(table: Any, label: str, path: Path) -> list[Any]:
    if label not in table.column_names:
        shown = ", ".join(table.column_names[:8]) + (", ..." if table.num_columns > 8 else "")
        raise DataError(
            f"Expected a label column named `{label}` in {path}; its columns are {shown} ({table.num_columns:,} "
            "in all). Name the label column with --label COLUMN."
        )
    column = table.column(label)
    if column.null_count:
        raise _missing(path, _first(column.is_null().to_numpy(zero_copy_only=False)), label, "a label")
    return column.to_pylist()


# -- labels, images, features --------------------------------------------------------------------


def _label_key(value: Any) -> Any:
    """Integers (also written 3.0) sort as numbers; anything else as its text."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (0, int(value), "")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return (0, int(value), "")
    return (1, 0, str(value))


def _class_names(keys: list[Any], options: DataOptions, path: Path) -> tuple[list[Any], tuple[str, ...]]:
    """The distinct label keys in label order, and their names (``--classes`` for labels 0..K-1)."""
    distinct = sorted(set(keys))
    names = tuple(str(n) if kind == 1 else str(v) for kind, v, n in distinct)
    if options.classes:
        numbers = [v for kind, v, _ in distinct if kind == 0]
        if len(numbers) != len(distinct) or min(numbers) < 0 or max(numbers) >= len(options.classes):
            raise DataError(
                f"Expected labels 0..{len(options.classes) - 1} in {path} for the {len(options.classes)} names of "
                f"--classes; got {', '.join(names[:6])}{', ...' if len(names) > 6 else ''}."
            )
        distinct = [(0, i, "") for i in range(len(options.classes))]
        names = tuple(options.classes)
    return distinct, names


def _encode(keys: list[Any], distinct: list[Any], path: Path, label: str) -> np.ndarray:
    index = {key: i for i, key in enumerate(distinct)}
    try:
        return np.array([index[k] for k in keys], dtype=np.int64)
    except KeyError as err:
        row = keys.index(err.args[0]) + 1
        value = err.args[0][1] if err.args[0][0] == 0 else err.args[0][2]
        raise DataError(
            f"Expected only labels that the training data has in {path}; got {str(value)!r} in row {row}, "
            f"column `{label}`, which the training data never has. Remove those rows, or add examples of it to "
            "the training data."
        ) from None


def _image_shape(columns: list[str], options: DataOptions, path: Path) -> tuple[int, int, int] | None:
    """``(H, W, C)`` when the table's columns are pixels, else ``None``."""
    if options.image_shape is not None:
        h, w, *c = options.image_shape
        shape = (h, w, c[0] if c else 1)
        if math.prod(shape) != len(columns):
            raise DataError(
                f"Expected {math.prod(shape):,} pixel columns in {path} for --image-shape "
                f"{'x'.join(map(str, options.image_shape))}; it has {len(columns):,} besides the label."
            )
        return shape
    if not columns or not all(c.lower().startswith("pixel") for c in columns):
        return None
    side = math.isqrt(len(columns))
    if side * side != len(columns):
        raise DataError(
            f"Expected a square number of pixel columns in {path} (grey square images); got {len(columns):,}. "
            "Pass --image-shape HxW or HxWxC."
        )
    return side, side, 1


def _to_images(values: np.ndarray, shape: tuple[int, int, int], columns: list[str], path: Path) -> np.ndarray:
    bad = (values < 0) | (values > 255) | (values != np.round(values))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"Expected pixel values 0..255 (whole numbers) in {path}; got {values[row, col]:g} in row {row + 1}, "
            f"column `{columns[col]}`."
        )
    h, w, c = shape
    return np.ascontiguousarray(values.astype(np.uint8).reshape(-1, h, w, c).transpose(0, 3, 1, 2))  # (N, C, H, W)


def _columns(table: Any, label: str, path: Path, options: DataOptions) -> tuple[np.ndarray, list[Any], list[str]]:
    """The values (``(N, F)`` float64), the label keys and the value columns' names of one table."""
    keys = [_label_key(v) for v in _label_values(table, label, path)]
    columns = [c for c in table.column_names if c != label]
    if not columns:
        raise DataError(f"Expected columns of values besides the label `{label}` in {path}; it has none.")
    values = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        values[:, j] = _numeric_column(table, name, path)
    return values, keys, columns


# -- .npz ------------------------------------------------------------------------------------------


def _npz_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Each array's shape, read from the ``.npy`` headers only."""
    shapes = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                with archive.open(name) as f:
                    version = np.lib.format.read_magic(f)
                    read = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shapes[name.removesuffix(".npy")] = read(f)[0]
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(f"Expected a numpy .npz archive in {path}; got a damaged file ({err}).") from None
    return shapes


def _load_npz(path: Path) -> tuple[dict[str, np.ndarray], bool]:
    """The arrays ``x``, ``y`` (and ``x_test``, ``y_test``), and whether the file has its own test split."""
    shapes = _npz_shapes(path)
    for key, shape in shapes.items():
        if key.startswith(("x", "X")) and len(shape) == 2 and shape[1] > MAX_COLUMNS:
            raise _too_wide(path, f"{shape[1]:,}")
    with np.load(path, allow_pickle=False) as npz:
        if "x_train" in npz and "y_train" in npz:
            arrays = {"x": npz["x_train"], "y": npz["y_train"]}
            if "x_test" in npz and "y_test" in npz:
                arrays.update(x_test=npz["x_test"], y_test=npz["y_test"])
        elif ("x" in npz or "X" in npz) and "y" in npz:
            arrays = {"x": npz["x"] if "x" in npz else npz["X"], "y": npz["y"]}
        else:
            raise DataError(
                f"Expected arrays x_train, y_train (and x_test, y_test) or x, y in {path}; it holds "
                f"{', '.join(shapes) or 'none'}."
            )
        for key in ("feature_names", "class_names"):
            if key in npz:
                arrays[key] = npz[key]
    return arrays, "x_test" in arrays


def _npz_values(x: np.ndarray, path: Path) -> tuple[str, np.ndarray]:
    if x.ndim == 2:
        if not np.issubdtype(x.dtype, np.number):
            raise DataError(f"Expected numbers in the array x of {path}; got {x.dtype}.")
        if not np.isfinite(x).all():
            row, col = np.argwhere(~np.isfinite(x))[0]
            raise DataError(f"Expected a number in row {row + 1}, column {col} of {path}; got {x[row, col]}.")
        return "features", x.astype(np.float32)
    if x.ndim in (3, 4) and x.dtype == np.uint8:
        if x.ndim == 3:
            return "images", x[:, None]
        return "images", np.ascontiguousarray(x.transpose(0, 3, 1, 2) if x.shape[-1] in (1, 3) else x)
    raise DataError(
        f"Expected x of shape (N, F) numbers or (N, H, W[, C]) uint8 images in {path}; got {x.shape} {x.dtype}."
    )


# -- the loader -------------------------------------------------------------------------------------


def _read(path: Path, options: DataOptions) -> dict[str, Any]:
    """One table as ``{"kind", "x", "keys", "columns", "shape"}``."""
    table = _read_arrow(path)
    values, keys, columns = _columns(table, options.label, path, options)
    shape = _image_shape(columns, options, path)
    if shape is not None:
        return {"kind": "images", "x": _to_images(values, shape, columns, path), "keys": keys, "columns": columns}
    if not np.isfinite(values).all():
        row, col = np.argwhere(~np.isfinite(values))[0]
        raise DataError(
            f"Expected a finite number in row {row + 1}, column `{columns[col]}` of {path}; got {values[row, col]}."
        )
    return {"kind": "features", "x": values.astype(np.float32), "keys": keys, "columns": columns}


def _check_same_columns(train: dict[str, Any], test: dict[str, Any], path: Path) -> None:
    missing = [c for c in train["columns"] if c not in test["columns"]]
    if missing or test["kind"] != train["kind"]:
        what = (
            f"`{missing[0]}` is missing" if missing else f"it holds {test['kind']}, the training table {train['kind']}"
        )
        raise DataError(f"Expected the columns of the training table in {path}; {what}.")


def load_table(path: Path, options: DataOptions, assignment: dict[str, list[Any]] | None = None) -> OwnData:
    """Read a ``.csv``, ``.parquet`` or ``.npz`` table (and ``options.test_data``) into an `OwnData`.

    Raises:
        DataError: one line naming the file, and the row and column where it applies.
        MissingExtraError: a CSV or Parquet file without pyarrow.
    """
    if path.suffix.lower() == ".npz":
        return _load_npz_table(path, options, assignment)
    train = _read(path, options)
    distinct, names = _class_names(train["keys"], options, path)
    check_classes(names, np.array([]), str(path))
    y = _encode(train["keys"], distinct, path, options.label)
    x = train["x"]
    source = {"kind": "table", "path": str(path.resolve()), "format": path.suffix.lower()[1:], "rows": len(y)}
    if options.test_data:
        test_path = Path(options.test_data)
        if not test_path.is_file():
            raise DataError(f"Expected a test table at {test_path} (--test-data); the file does not exist.")
        test = _read(test_path, options)
        _check_same_columns(train, test, test_path)
        order = [test["columns"].index(c) for c in train["columns"]]
        test_x = test["x"] if test["kind"] == "images" else test["x"][:, order]
        test_y = _encode(test["keys"], distinct, test_path, options.label)
        data = _own(train, x, y, test_x, test_y, names, {**source, "test_path": str(test_path.resolve())})
        data.split = {"method": "test table", "train": len(y), "test": len(test_y)}
        return data
    data = _own(train, x, y, x, y, names, source)
    return _split_rows(data, x, y, options, assignment, str(path))


def _own(train: dict[str, Any], x: np.ndarray, y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
         names: tuple[str, ...], source: dict[str, Any]) -> OwnData:  # fmt: skip
    images = train["kind"] == "images"
    preprocessing = (
        {"color": "grey" if x.shape[1] == 1 else "rgb", "size": list(x.shape[2:]), "resize": "none (pixel columns)"}
        if images
        else {"standardisation": "(x - mean) / std with the training split's mean and std (model.json `input`)"}
    )
    return OwnData(
        kind=train["kind"], train_x=x, train_y=y, test_x=test_x, test_y=test_y, class_names=names, source=source,
        feature_names=() if images else tuple(train["columns"]),
        light_on_dark=bool(images and x.shape[1] == 1 and light_on_dark(x)), preprocessing=preprocessing,
    )  # fmt: skip


def _split_rows(data: OwnData, x: np.ndarray, y: np.ndarray, options: DataOptions,
                assignment: dict[str, list[Any]] | None, source: str) -> OwnData:  # fmt: skip
    """Hold out a stratified share of the rows (or the rows a recorded assignment names)."""
    if assignment is not None:
        train, test = split_by_ids(list(range(len(y))), assignment, source)
    else:
        train, test = stratified_split(y, options.test_fraction, options.seed)
    data.split = {"method": "stratified", "test_fraction": options.test_fraction, "seed": options.seed,
                  "train": int(len(train)), "test": int(len(test))}  # fmt: skip
    data.assignment = {"train": train.tolist(), "test": test.tolist()}
    return take(data, x, y, train, test)


def _load_npz_table(path: Path, options: DataOptions, assignment: dict[str, list[Any]] | None) -> OwnData:
    arrays, has_test = _load_npz(path)
    kind, x = _npz_values(arrays["x"], path)
    keys = [_label_key(v) for v in arrays["y"].tolist()]
    distinct, names = _class_names(keys, options, path)
    if "class_names" in arrays and not options.classes:
        names = tuple(str(n) for n in arrays["class_names"].tolist())
    check_classes(names, np.array([]), str(path))
    y = _encode(keys, distinct, path, "y")
    columns = [str(n) for n in arrays["feature_names"].tolist()] if "feature_names" in arrays else None
    if kind == "features":
        columns = columns or [f"x{j}" for j in range(x.shape[1])]
    train = {"kind": kind, "columns": columns or []}
    source = {"kind": "table", "path": str(path.resolve()), "format": "npz", "rows": len(y)}
    if has_test:
        _, test_x = _npz_values(arrays["x_test"], path)
        test_y = _encode([_label_key(v) for v in arrays["y_test"].tolist()], distinct, path, "y_test")
        data = _own(train, x, y, test_x, test_y, names, source)
        data.split = {"method": "x_test, y_test", "train": len(y), "test": len(test_y)}
        return data
    return _split_rows(_own(train, x, y, x, y, names, source), x, y, options, assignment, str(path))


def read_feature_rows(path: Path, feature_names: list[str] | tuple[str, ...]) -> np.ndarray:
    """The columns ``feature_names`` of a ``.csv`` or ``.parquet`` table, as ``(N, F)`` float32 (other
    columns, such as a label, are left out): the rows to predict for a run trained on features.

    Raises:
        DataError: the file is missing, a column is missing, or a value is missing or not a number.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Expected a table of rows to predict at {path}; the file does not exist.")
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise DataError(f"Expected a .csv or .parquet table of rows to predict; got {path}.")
    table = _read_arrow(path)
    missing = [name for name in feature_names if name not in table.column_names]
    if missing:
        raise DataError(
            f"Expected the run's {len(feature_names)} feature columns in {path}; `{missing[0]}` is missing"
            + (f" ({len(missing)} in all)." if len(missing) > 1 else ".")
        )
    values = np.empty((table.num_rows, len(feature_names)), dtype=np.float64)
    for j, name in enumerate(feature_names):
        values[:, j] = _numeric_column(table, name, path)
    return values.astype(np.float32)
