"""Formats that other tools read: a trained model as ONNX, training curves as TensorBoard event files.

- `onnx_export`: a linear classifier's weights as an ONNX graph (Flatten, Gemm, Softmax) with its
  class names and preprocessing in the model's metadata; ONNX Runtime runs it without torch.
- `tensorboard_log`: `TensorBoardLogger`, a `Trainer` callback (``Trainer(tensorboard=DIR)``,
  ``softmaxreg train --tensorboard``) writing the epoch metrics, the board's train loss per window
  and the hyperparameters; a resumed run never repeats a step.

May import: the core only (``errors``, ``_atomic``, ``_extras``, ``_validate``), so that the d2l API
in ``book`` can use it. It works on what it is given (arrays, a trainer and its model), never on
run folders, datasets or commands. ``onnx``, ``tensorboard`` and torch are imported inside the
functions that need them: importing this package costs nothing.
"""
