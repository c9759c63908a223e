"""The baseline of ``bench_serve.py``: a run's weights served by LitServe, JSON ``{"pixels": 28×28}`` in, top-3 out.

Usage: python benchmarks/litserve_baseline.py RUN_DIR PORT  (needs ``pip install "softmaxreg[bench]"``)
"""

import sys

import litserve as ls
import numpy as np

from softmaxreg.runs.checkpoint import load_model
from softmaxreg.runs.inference import LinearScorer, top_k


class FashionAPI(ls.LitAPI):  # the 15 lines a LitServe user writes
    def setup(self, device):
        model, meta = load_model(sys.argv[1])
        self.scorer, self.names = LinearScorer(model), meta["class_names"]

    def decode_request(self, request):
        return np.rint(np.asarray(request["pixels"], dtype=np.float64) * 255).astype(np.uint8)

    def predict(self, pixels):
        return self.scorer.logits(pixels[None])[0].tolist()

    def encode_response(self, logits):
        return {"top_k": [{"label": k, "class": self.names[k], "probability": p} for k, p in top_k(logits, 3)]}


if __name__ == "__main__":
    ls.LitServer(FashionAPI(), accelerator="cpu").run(port=int(sys.argv[2]), generate_client_file=False)
