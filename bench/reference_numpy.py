#!/usr/bin/env python3
"""NumPy reference for the benchmark, read with numpy.memmap (no copy), the way a user would
script it. `reference_numpy.py FILE` times mean, std, min, max of every tensor of a
safetensors file; `reference_numpy.py diff A B` times the same for both files plus the
element-wise comparison diffai makes (max |a-b|, mean |a-b|, changed count, Σ(a-b)², Σab,
Σa², Σb²), in chunks of 1M elements so memory stays bounded. Prints JSON:
{"seconds": ..., "bytes": ..., "tensors": {name: [...]}}."""
import json, struct, sys, time
import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16}
CHUNK = 1 << 20

def open_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header, np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)

def values(data, t):
    b, e = t["data_offsets"]
    if t["dtype"] == "BF16":
        return data[b:e].view(np.uint16), True
    return data[b:e].view(DTYPES[t["dtype"]]), False

def as_f32(x, bf16):
    return (x.astype(np.uint32) << 16).view(np.float32) if bf16 else x

def stats(path):
    start = time.perf_counter()
    header, data = open_safetensors(path)
    out, total = {}, 0
    for name, t in header.items():
        x, bf16 = values(data, t)
        x = as_f32(x, bf16)
        out[name] = [float(x.mean(dtype=np.float64)), float(x.std(dtype=np.float64)), float(x.min()), float(x.max())]
        total += x.size * x.itemsize if not bf16 else x.size * 2
    print(json.dumps({"seconds": time.perf_counter() - start, "bytes": total, "tensors": out}))

def diff(path_a, path_b):
    start = time.perf_counter()
    ha, da = open_safetensors(path_a)
    hb, db = open_safetensors(path_b)
    out, total = {}, 0
    for name, ta in ha.items():
        tb = hb.get(name)
        if tb is None or tb["shape"] != ta["shape"]:
            continue
        xa, bfa = values(da, ta)
        xb, bfb = values(db, tb)
        acc = np.zeros(13)
        mn_a = mn_b = np.inf
        mx_a = mx_b = -np.inf
        max_abs = 0.0
        for i in range(0, xa.size, CHUNK):
            a = as_f32(xa[i:i + CHUNK], bfa).astype(np.float64)
            b = as_f32(xb[i:i + CHUNK], bfb).astype(np.float64)
            d = a - b
            e = np.abs(d)
            acc += [a.sum(), (a * a).sum(), b.sum(), (b * b).sum(), e.sum(), (e > 0).sum(), (d * d).sum(), (a * b).sum(), 0, 0, 0, 0, 0]
            mn_a, mx_a = min(mn_a, a.min()), max(mx_a, a.max())
            mn_b, mx_b = min(mn_b, b.min()), max(mx_b, b.max())
            max_abs = max(max_abs, e.max())
        n = xa.size
        out[name] = [acc[0] / n, acc[2] / n, float(mn_a), float(mx_a), float(mn_b), float(mx_b), float(max_abs), acc[4] / n, int(acc[5])]
        total += xa.size * xa.itemsize + xb.size * xb.itemsize
    print(json.dumps({"seconds": time.perf_counter() - start, "bytes": total, "tensors": out}))

if __name__ == "__main__":
    if sys.argv[1] == "diff":
        diff(sys.argv[2], sys.argv[3])
    else:
        stats(sys.argv[1])
