"""PyHessian's half of the analysis speed comparison (docs/analysis.md).

The digits MLP 64-32-10 (tanh, PyTorch's default init with seed 0) on all
1797 rows of the digits dataset (pixels divided by 16), in float64, with
the Hessian of the mean cross-entropy over 4 batches of at most 512 rows
(PyHessian's data-loader mode). Writes the weights and the data as
safetensors into DIR (the same layout as tests/fixtures/pyhessian/), so
that our half runs on the same model:

    ~/.cache/curvature-bench/venv/bin/python benches/analysis/pyhessian_side_by_side.py DIR
    cargo run --release --example hessian_speed -- DIR

(the venv is made by the side-by-side benchmark's setup.sh kept beside the
repository; add `pip install pyhessian safetensors` to it). One thread on
both sides. Prints full-dataset HVPs per second and the wall time and
product count of each analysis at PyHessian's defaults.
"""

import gzip
import math
import os
import sys
import time

import numpy as np
import torch
from pyhessian import hessian
from safetensors.torch import save_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BATCH = 512


def main(out_dir):
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    with gzip.open(os.path.join(ROOT, "crates", "nn", "data", "digits.csv.gz"), "rt") as f:
        data = np.array([list(map(float, line.split(","))) for line in f if line.strip()])
    x, y = torch.tensor(data[:, :64] / 16.0), torch.tensor(data[:, 64]).long()
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
    criterion = torch.nn.CrossEntropyLoss()
    batches = [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH)]
    os.makedirs(out_dir, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out_dir, "mlp.safetensors"))
    save_file({"x": x.contiguous(), "y": y.double().contiguous()}, os.path.join(out_dir, "data.safetensors"))

    hess = hessian(model, criterion, dataloader=batches, cuda=False)
    # the data-loader product weighs batches by their size; so does ours here
    count = {"hvps": 0}
    product = hess.dataloader_hv_product

    def counted(v):
        count["hvps"] += 1
        return product(v)

    hess.dataloader_hv_product = counted
    v = [torch.randn_like(p) for p in hess.params]
    product(v)  # warm-up
    reps = 40
    start = time.perf_counter()
    for _ in range(reps):
        product(v)
    print(f"PyHessian {torch.__version__}: {reps / (time.perf_counter() - start):.1f} full-dataset HVPs per second")

    def timed(name, f):
        count["hvps"] = 0
        start = time.perf_counter()
        result = f()
        seconds = time.perf_counter() - start
        print(f"{name:<40} {seconds:8.3f} s {count['hvps']:6d} HVPs   {result}")

    torch.manual_seed(1)
    timed("top 5 eigenvalues (power iteration)", lambda: [round(e, 6) for e in hess.eigenvalues(top_n=5)[0]])
    torch.manual_seed(1)
    timed("top 1 eigenvalue (power iteration)", lambda: [round(e, 6) for e in hess.eigenvalues(top_n=1)[0]])
    torch.manual_seed(2)

    def trace():
        samples = np.array(hess.trace())
        return f"{samples.mean():.4f} +- {samples.std(ddof=1) / math.sqrt(len(samples)):.4f}"

    timed("trace (Hutchinson)", trace)
    try:
        timed("spectral density (SLQ, 100 steps)", lambda: len(hess.density()[0][0]))
    except Exception as e:  # torch.eig was removed in PyTorch 2
        first = str(e).strip().splitlines()[0]
        print(f"{'spectral density (SLQ, 100 steps)':<40} fails: {type(e).__name__}: {first}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
