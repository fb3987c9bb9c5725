#!/usr/bin/env python3
"""PyTorch reference for the benchmark. `make SRC.safetensors OUT.pt` writes a torch zip
checkpoint with the same tensors; `stats FILE.pt` times torch.load plus mean, std, min,
max of every tensor in float64, and prints JSON like reference_numpy.py."""
import json, struct, sys, time
import numpy as np
import torch

def make(src, out):
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    # Copy-on-write: writable for torch.from_numpy without copying a gigabyte first.
    data = np.memmap(src, dtype=np.uint8, mode="c", offset=8 + n)
    state = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        b, e = t["data_offsets"]
        state[name] = torch.from_numpy(data[b:e].view(np.float32)).reshape(t["shape"])
    torch.save(state, out)

def stats(path):
    torch.set_num_threads(1)
    start = time.perf_counter()
    state = torch.load(path, map_location="cpu")
    out, total = {}, 0
    for name, x in state.items():
        d = x.double()
        out[name] = [d.mean().item(), d.std(unbiased=False).item(), x.min().item(), x.max().item()]
        total += x.numel() * x.element_size()
    print(json.dumps({"seconds": time.perf_counter() - start, "bytes": total, "tensors": out}))

if __name__ == "__main__":
    {"make": lambda: make(sys.argv[2], sys.argv[3]), "stats": lambda: stats(sys.argv[2])}[sys.argv[1]]()
