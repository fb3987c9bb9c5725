#!/usr/bin/env python3
"""NumPy reference for the benchmark: mean, std, min, max of every tensor of a safetensors
file, read with numpy.memmap (no copy), the way a user would script it. Prints JSON:
{"seconds": ..., "bytes": ..., "tensors": {name: [mean, std, min, max]}}."""
import json, struct, sys, time
import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16}

def main(path):
    start = time.perf_counter()
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out, total = {}, 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        if t["dtype"] == "BF16":
            x = (data[b:e].view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            x = data[b:e].view(DTYPES[t["dtype"]])
        out[name] = [float(x.mean(dtype=np.float64)), float(x.std(dtype=np.float64)), float(x.min()), float(x.max())]
        total += e - b
    print(json.dumps({"seconds": time.perf_counter() - start, "bytes": total, "tensors": out}))

if __name__ == "__main__":
    main(sys.argv[1])
