"""PyTorch training throughput on edge's benchmark autoencoders (the peer
of `edge bench -kinds train`): the same layers, batch, MSE loss and AdamW.

Usage: /usr/bin/python3 bench/torch_train.py MODEL BATCH STEPS THREADS
  MODEL: dense (640-128-128-128-128-8-128-128-128-128-640, ReLU between,
         linear latent and output) or conv (128 steps x 8 channels: three
         Conv1d k5 s2 p2 8->32->32->16, Linear 256->24; Linear 24->256,
         three ConvTranspose1d k4 s2 p1 16->32->32->8; ReLU between).
Prints: torch_train model=... batch=... threads=... samples/s=..."""
import sys, time, torch

def dense():
    dims = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i + 1 != 5 and i + 2 != len(dims):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers), (640,)

def conv():
    r = torch.nn.ReLU
    return torch.nn.Sequential(
        torch.nn.Conv1d(8, 32, 5, 2, 2), r(), torch.nn.Conv1d(32, 32, 5, 2, 2), r(),
        torch.nn.Conv1d(32, 16, 5, 2, 2), r(), torch.nn.Flatten(), torch.nn.Linear(256, 24),
        torch.nn.Linear(24, 256), r(), torch.nn.Unflatten(1, (16, 16)),
        torch.nn.ConvTranspose1d(16, 32, 4, 2, 1), r(), torch.nn.ConvTranspose1d(32, 32, 4, 2, 1), r(),
        torch.nn.ConvTranspose1d(32, 8, 4, 2, 1)), (8, 128)

name, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(1)
net, shape = {"dense": dense, "conv": conv}[name]()
opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
x = torch.randn(batch * 16, *shape)
def step(i):
    xb = x[(i % 16) * batch:(i % 16 + 1) * batch]
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.mse_loss(net(xb), xb)
    loss.backward()
    opt.step()
for i in range(max(5, steps // 10)):
    step(i)
t0 = time.perf_counter()
for i in range(steps):
    step(i)
dt = time.perf_counter() - t0
print(f"torch_train model={name} batch={batch} threads={threads} samples/s={steps * batch / dt:.0f}")
