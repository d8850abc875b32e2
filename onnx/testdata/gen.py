#!/usr/bin/python3
"""Generates the ONNX import fixtures: small autoencoders exported from
PyTorch (Debian python3-torch) and a QDQ int8 model built with python3-onnx,
each with reference inputs and outputs in NAME.json.

Run from this directory: /usr/bin/python3 gen.py
The models are random (fixed seeds) and tiny; the files are committed so
the tests need neither Python nor PyTorch.
"""
import json

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

torch.manual_seed(1)
np.random.seed(1)
OPSET = 13


def save_io(name, inputs, outputs, **extra):
    doc = {"input_shape": list(inputs.shape), "input": inputs.flatten().tolist(),
           "output_shape": list(outputs.shape), "output": outputs.flatten().tolist()}
    doc.update(extra)
    with open(name + ".json", "w") as f:
        json.dump(doc, f)


def export(model, x, name, outputs=("output",)):
    model.eval()
    torch.onnx.export(model, x, name + ".onnx", input_names=["input"], output_names=list(outputs),
                      opset_version=OPSET, dynamic_axes={"input": {0: "batch"}})
    with torch.no_grad():
        y = model(x)
    if isinstance(y, tuple):
        y = y[0]
    save_io(name, x.numpy(), y.numpy())


class Dense(torch.nn.Module):
    """24 -> 12 -> 4 -> 12 -> 24 with BatchNorm, Dropout, LeakyReLU, Tanh, Sigmoid."""

    def __init__(self):
        super().__init__()
        self.enc = torch.nn.Sequential(
            torch.nn.Linear(24, 12), torch.nn.BatchNorm1d(12), torch.nn.LeakyReLU(0.1), torch.nn.Dropout(0.2),
            torch.nn.Linear(12, 4), torch.nn.Tanh())
        self.dec = torch.nn.Sequential(
            torch.nn.Linear(4, 12), torch.nn.ReLU(), torch.nn.Linear(12, 24), torch.nn.Sigmoid())

    def forward(self, x):
        return self.dec(self.enc(x))


class Conv(torch.nn.Module):
    """Input [N, 4 channels, 16 steps]: two strided convs, a dense code, two transposed convs."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv1d(4, 8, 3, stride=2, padding=1)
        self.bn = torch.nn.BatchNorm1d(8)
        self.c2 = torch.nn.Conv1d(8, 16, 3, stride=2, padding=1)
        self.code = torch.nn.Linear(16 * 4, 6)
        self.up = torch.nn.Linear(6, 16 * 4)
        self.t1 = torch.nn.ConvTranspose1d(16, 8, 4, stride=2, padding=1)
        self.t2 = torch.nn.ConvTranspose1d(8, 4, 4, stride=2, padding=1)

    def forward(self, x):
        h = torch.relu(self.bn(self.c1(x)))
        h = torch.relu(self.c2(h))
        z = self.code(torch.flatten(h, 1))
        h = torch.relu(self.up(z)).view(-1, 16, 4)
        h = torch.relu(self.t1(h))
        return self.t2(h)


class VAE(torch.nn.Module):
    """The deterministic path of a VAE: reconstruction from the mean, with mu and logvar as extra outputs."""

    def __init__(self):
        super().__init__()
        self.h = torch.nn.Linear(24, 16)
        self.mu = torch.nn.Linear(16, 4)
        self.logvar = torch.nn.Linear(16, 4)
        self.dec = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 24))

    def forward(self, x):
        h = torch.relu(self.h(x))
        mu, logvar = self.mu(h), self.logvar(h)
        return self.dec(mu), mu, logvar


def randomize_bn(m):
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm1d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)


dense = Dense()
randomize_bn(dense)
export(dense, torch.randn(5, 24), "dense")

conv = Conv()
randomize_bn(conv)
export(conv, torch.randn(3, 4, 16), "conv")

vae = VAE()
export(vae, torch.randn(4, 24), "vae", outputs=("output", "mu", "logvar"))

# QDQ: the vanilla 24-12-4-12-24 ReLU model with static int8 quantisation
# in ONNX Runtime's QDQ form: per-channel symmetric int8 weights, int32
# biases at input x weight scale, asymmetric int8 activations calibrated on
# random inputs. The reference output evaluates the QDQ graph's own
# semantics in numpy (round half to even, saturate).
sizes = [24, 12, 4, 12, 24]
W = [np.random.randn(o, i).astype(np.float32) / np.sqrt(i) for i, o in zip(sizes, sizes[1:])]
B = [0.1 * np.random.randn(o).astype(np.float32) for o in sizes[1:]]
calib = np.random.randn(64, 24).astype(np.float32)


def qparams(v):
    lo, hi = min(0.0, float(v.min())), max(0.0, float(v.max()))
    s = (hi - lo) / 255.0 or 1.0
    zp = int(np.clip(np.round(-128 - lo / s), -128, 127))
    return np.float32(s), np.int8(zp)


def q(x, s, zp):
    return np.clip(np.round(x / s) + zp, -128, 127).astype(np.int8)  # numpy rounds half to even


def dq(x, s, zp):
    return ((x.astype(np.float32) - np.float32(zp)) * s).astype(np.float32)


# Calibrate activation ranges in float.
acts, h = [calib], calib
for k in range(4):
    h = h @ W[k].T + B[k]
    if k < 3:
        h = np.maximum(h, 0)
    acts.append(h)
aq = [qparams(a) for a in acts]

nodes, inits = [], []


def init(name, arr):
    inits.append(numpy_helper.from_array(arr, name))


x_name = "input"
init("in_s", np.array(aq[0][0], np.float32))
init("in_zp", np.array(aq[0][1], np.int8))
nodes.append(helper.make_node("QuantizeLinear", ["input", "in_s", "in_zp"], ["in_q"]))
nodes.append(helper.make_node("DequantizeLinear", ["in_q", "in_s", "in_zp"], ["in_dq"]))
cur = "in_dq"
wq_list, bq_list = [], []
for k in range(4):
    ws = (np.abs(W[k]).max(axis=1) / 127).astype(np.float32)
    wq = np.clip(np.round(W[k] / ws[:, None]), -127, 127).astype(np.int8)
    bs = (aq[k][0] * ws).astype(np.float32)
    bq = np.round(B[k] / bs).astype(np.int32)
    wq_list.append((wq, ws))
    bq_list.append((bq, bs))
    init(f"w{k}", wq.T.copy())  # MatMul takes [in, out]
    init(f"w{k}_s", ws)
    init(f"w{k}_zp", np.zeros(len(ws), np.int8))
    init(f"b{k}", bq)
    init(f"b{k}_s", bs)
    init(f"b{k}_zp", np.zeros(len(bs), np.int32))
    nodes.append(helper.make_node("DequantizeLinear", [f"w{k}", f"w{k}_s", f"w{k}_zp"], [f"w{k}_dq"], axis=1))
    nodes.append(helper.make_node("DequantizeLinear", [f"b{k}", f"b{k}_s", f"b{k}_zp"], [f"b{k}_dq"], axis=0))
    nodes.append(helper.make_node("MatMul", [cur, f"w{k}_dq"], [f"mm{k}"]))
    nodes.append(helper.make_node("Add", [f"mm{k}", f"b{k}_dq"], [f"y{k}"]))
    out = f"y{k}"
    if k < 3:
        nodes.append(helper.make_node("Relu", [out], [f"r{k}"]))
        out = f"r{k}"
    s, zp = aq[k + 1]
    init(f"a{k}_s", np.array(s, np.float32))
    init(f"a{k}_zp", np.array(zp, np.int8))
    last = "output" if k == 3 else f"a{k}_dq"
    nodes.append(helper.make_node("QuantizeLinear", [out, f"a{k}_s", f"a{k}_zp"], [f"a{k}_q"]))
    nodes.append(helper.make_node("DequantizeLinear", [f"a{k}_q", f"a{k}_s", f"a{k}_zp"], [last]))
    cur = last
graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 24])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 24])], inits)
qdq = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edge onnx/testdata/gen.py")
onnx.checker.check_model(qdq)
onnx.save(qdq, "qdq.onnx")

x = np.random.randn(6, 24).astype(np.float32)
h = dq(q(x, *aq[0]), *aq[0])
for k in range(4):
    wq, ws = wq_list[k]
    bq, bs = bq_list[k]
    y = h @ (wq.astype(np.float32) * ws[:, None]).T + bq.astype(np.float32) * bs
    if k < 3:
        y = np.maximum(y, 0)
    h = dq(q(y, *aq[k + 1]), *aq[k + 1])
save_io("qdq", x, h, output_step=float(aq[4][0]))
print("wrote dense, conv, vae, qdq")


# Layout operators: a time-major [N, steps, channels] input transposed for
# the convolutions, an Unsqueeze/Squeeze pair, the output transposed back.
class TimeMajor(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv1d(3, 6, 5, stride=1, padding=2)
        self.code = torch.nn.Linear(6 * 8, 5)
        self.up = torch.nn.Linear(5, 6 * 8)
        self.t1 = torch.nn.ConvTranspose1d(6, 3, 3, stride=1, padding=1)

    def forward(self, x):
        h = torch.nn.functional.leaky_relu(self.c1(x.transpose(1, 2)), 0.05)
        z = torch.tanh(self.code(h.flatten(1))).unsqueeze(1).squeeze(1)
        h = torch.sigmoid(self.up(z)).reshape(-1, 6, 8)
        return self.t1(h).transpose(1, 2)


export(TimeMajor(), torch.randn(3, 8, 3), "timemajor")


# QDQ around Conv: int8 conv encoder (per-channel weights) and a dense
# decoder whose flat output is reshaped to [N, channels, steps].
C, T, F, K = 3, 8, 4, 3
Wc = (np.random.randn(F, C, K) / np.sqrt(C * K)).astype(np.float32)
Bc = (0.1 * np.random.randn(F)).astype(np.float32)
Wd = (np.random.randn(C * T, F * T) / np.sqrt(F * T)).astype(np.float32)
Bd = (0.1 * np.random.randn(C * T)).astype(np.float32)


def conv1d(x, w, b, pad):
    n, c, t = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
    y = np.zeros((n, w.shape[0], t), np.float32)
    for o in range(w.shape[0]):
        for s in range(t):
            y[:, o, s] = (xp[:, :, s:s + w.shape[2]] * w[o]).sum(axis=(1, 2)) + b[o]
    return y


calib = np.random.randn(32, C, T).astype(np.float32)
a0 = qparams(calib)
h = np.maximum(conv1d(calib, Wc, Bc, 1), 0)
a1 = qparams(h)
a2 = qparams(h.reshape(32, -1) @ Wd.T + Bd)
wcs = (np.abs(Wc).reshape(F, -1).max(axis=1) / 127).astype(np.float32)
wcq = np.clip(np.round(Wc / wcs[:, None, None]), -127, 127).astype(np.int8)
bcq = np.round(Bc / (a0[0] * wcs)).astype(np.int32)
wds = (np.abs(Wd).max(axis=1) / 127).astype(np.float32)
wdq = np.clip(np.round(Wd / wds[:, None]), -127, 127).astype(np.int8)
bdq = np.round(Bd / (a1[0] * wds)).astype(np.int32)
inits = []
for name, arr in [("in_s", np.array(a0[0], np.float32)), ("in_zp", np.array(a0[1], np.int8)),
                  ("wc", wcq), ("wc_s", wcs), ("wc_zp", np.zeros(F, np.int8)),
                  ("bc", bcq), ("bc_s", (a0[0] * wcs).astype(np.float32)), ("bc_zp", np.zeros(F, np.int32)),
                  ("a1_s", np.array(a1[0], np.float32)), ("a1_zp", np.array(a1[1], np.int8)),
                  ("wd", wdq), ("wd_s", wds), ("wd_zp", np.zeros(C * T, np.int8)),
                  ("bd", bdq), ("bd_s", (a1[0] * wds).astype(np.float32)), ("bd_zp", np.zeros(C * T, np.int32)),
                  ("a2_s", np.array(a2[0], np.float32)), ("a2_zp", np.array(a2[1], np.int8)),
                  ("shape", np.array([-1, C, T], np.int64))]:
    inits.append(numpy_helper.from_array(arr, name))
N = helper.make_node
nodes = [
    N("QuantizeLinear", ["input", "in_s", "in_zp"], ["x_q"]), N("DequantizeLinear", ["x_q", "in_s", "in_zp"], ["x_dq"]),
    N("DequantizeLinear", ["wc", "wc_s", "wc_zp"], ["wc_dq"], axis=0),
    N("DequantizeLinear", ["bc", "bc_s", "bc_zp"], ["bc_dq"], axis=0),
    N("Conv", ["x_dq", "wc_dq", "bc_dq"], ["c"], kernel_shape=[K], pads=[1, 1], strides=[1]),
    N("Relu", ["c"], ["r"]),
    N("QuantizeLinear", ["r", "a1_s", "a1_zp"], ["r_q"]), N("DequantizeLinear", ["r_q", "a1_s", "a1_zp"], ["r_dq"]),
    N("Flatten", ["r_dq"], ["f"], axis=1),
    N("DequantizeLinear", ["wd", "wd_s", "wd_zp"], ["wd_dq"], axis=0),
    N("DequantizeLinear", ["bd", "bd_s", "bd_zp"], ["bd_dq"], axis=0),
    N("Gemm", ["f", "wd_dq", "bd_dq"], ["g"], transB=1),
    N("QuantizeLinear", ["g", "a2_s", "a2_zp"], ["g_q"]), N("DequantizeLinear", ["g_q", "a2_s", "a2_zp"], ["g_dq"]),
    N("Reshape", ["g_dq", "shape"], ["output"]),
]
graph = helper.make_graph(nodes, "qdq_conv", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", C, T])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", C, T])], inits)
qc = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edge onnx/testdata/gen.py")
onnx.checker.check_model(qc)
onnx.save(qc, "qdq_conv.onnx")
x = np.random.randn(4, C, T).astype(np.float32)
h = dq(q(x, *a0), *a0)
h = conv1d(h, wcq.astype(np.float32) * wcs[:, None, None], bcq.astype(np.float32) * (a0[0] * wcs), 1)
h = dq(q(np.maximum(h, 0), *a1), *a1).reshape(4, -1)
y = h @ (wdq.astype(np.float32) * wds[:, None]).T + bdq.astype(np.float32) * (a1[0] * wds)
y = dq(q(y, *a2), *a2).reshape(4, C, T)
save_io("qdq_conv", x, y, output_step=float(a2[0]))
print("wrote timemajor, qdq_conv")
