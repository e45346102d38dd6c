"""The PAL training step in PyTorch: the spec of what one `learn bench trainer` step computes.

Same shapes, model, loss and optimizer as the product (src/model/pal-model.ts, loss.ts, adamw.ts):
  * tower: content adapter (d_c -> d), learned positions counted from the first real item, pre-LayerNorm causal
    transformer blocks (fused QKV, GELU tanh feed-forward, dropout after attention and feed-forward), final
    LayerNorm, projection to d_out, L2 normalisation; one module is both towers (items: one-item sequences);
  * loss: dense all-action InfoNCE, every (sampled history position of user u, target of u) is a positive, its
    negatives are the other users' targets and the sampled catalogue items, minus those with the positive's item id;
  * optimizer: AdamW (decoupled decay on matrices only) after clipping gradients to a global norm.

Run as a server by the Node bench (`learn bench trainer --reference torch`): one JSON line of config on argv, then
one request per stdin line, {"threads": n}, answered with {"ms": ..., "loss": ..., "threads": n} after one step.
`python pal_step.py --once` runs a few steps and prints their times (a smoke test by hand).
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_interop_threads(1)


class Block(torch.nn.Module):
    def __init__(self, d, heads, ff, dropout):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(d, eps=1e-5)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.out = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d, eps=1e-5)
        self.ff1 = torch.nn.Linear(d, ff)
        self.ff2 = torch.nn.Linear(ff, d)
        self.dropout = dropout

    def forward(self, x, bias):
        B, T, d = x.shape
        H, dh = self.heads, d // self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (t.view(B, T, H, dh).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d)
        x = x + F.dropout(self.out(ctx), self.dropout, self.training)
        ff = self.ff2(F.gelu(self.ff1(self.ln2(x)), approximate="tanh"))
        return x + F.dropout(ff, self.dropout, self.training)


class PalTower(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["dim"]
        self.max_history = cfg["maxHistory"]
        self.adapter = torch.nn.Linear(cfg["contentDim"], d)
        self.positions = torch.nn.Parameter(torch.randn(cfg["maxHistory"], d) * 0.02)
        self.blocks = torch.nn.ModuleList(Block(d, cfg["heads"], cfg["ffDim"], cfg["dropout"]) for _ in range(cfg["layers"]))
        self.ln_final = torch.nn.LayerNorm(d, eps=1e-5)
        self.proj = torch.nn.Linear(d, cfg["outDim"])

    def forward(self, content, mask):
        """content [B, T, d_c], mask [B, T] (1 real, 0 padding) -> per-position unit vectors [B, T, d_out]."""
        T = mask.shape[1]
        ids = (mask.cumsum(1) - 1).clamp(0, self.max_history - 1).long()
        x = self.adapter(content) + self.positions[ids]
        causal = torch.tril(torch.ones(T, T))
        allowed = causal[None, None] * mask[:, None, None, :]
        bias = (allowed - 1) * 1e9
        for block in self.blocks:
            x = block(x, bias)
        return F.normalize(self.proj(self.ln_final(x)), dim=-1, eps=1e-6)


def all_action_info_nce(history, history_users, targets, target_users, target_items, sampled, sampled_items, temperature):
    positive = (history_users[:, None] == target_users[None, :]) & (history_users[:, None] >= 0)
    negative = (target_users[:, None] != target_users[None, :]) & (target_items[:, None] != target_items[None, :])
    sampled_negative = sampled_items[:, None] != target_items[None, :]
    h = F.normalize(history, dim=-1)
    logits = h @ F.normalize(targets, dim=-1).T / temperature
    sampled_logits = h @ F.normalize(sampled, dim=-1).T / temperature
    row_max = torch.maximum(logits.max(1, keepdim=True).values, sampled_logits.max(1, keepdim=True).values).detach()
    shifted = logits - row_max
    e = shifted.exp()
    neg_mass = e @ negative.float() + (sampled_logits - row_max).exp() @ sampled_negative.float()
    per_pair = (torch.log(e + neg_mass) - shifted)[positive]
    return per_pair.mean()


class Step:
    """One synthetic batch at the bench's shapes and the model and optimizer that train on it."""

    def __init__(self, cfg, users, targets_per_user, seed=7):
        torch.manual_seed(seed)
        self.cfg = cfg
        B, T, dc, nh = users, cfg["maxHistory"], cfg["contentDim"], cfg["historySamples"]
        catalogue = F.normalize(torch.randn(2000, dc), dim=-1)
        history_items = torch.randint(0, 2000, (B, T))
        self.content = catalogue[history_items]
        self.mask = torch.ones(B, T)
        # Per user: the last position and nh - 1 others, as the product's batch builder samples them.
        self.positions = torch.stack([torch.cat([torch.randperm(T - 1)[: nh - 1].sort().values, torch.tensor([T - 1])]) for _ in range(B)])
        self.history_users = torch.arange(B).repeat_interleave(nh)
        target_items = torch.randint(0, 2000, (B * targets_per_user,))
        self.target_items = target_items
        self.target_users = torch.arange(B).repeat_interleave(targets_per_user)
        self.target_content = catalogue[target_items]
        self.sampled_items = torch.randperm(2000)[: cfg["negativeSamples"]]
        self.sampled_content = catalogue[self.sampled_items]
        self.model = PalTower(cfg)
        decay = [p for n, p in self.model.named_parameters() if n.endswith("weight") and p.dim() == 2]
        rest = [p for n, p in self.model.named_parameters() if not (n.endswith("weight") and p.dim() == 2)]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg["weightDecay"]}, {"params": rest, "weight_decay": 0.0}],
            lr=cfg["learningRate"], betas=(0.9, 0.999), eps=1e-8,
        )

    def run(self):
        cfg = self.cfg
        self.model.train()
        outputs = self.model(self.content, self.mask)
        B = outputs.shape[0]
        picked = outputs[torch.arange(B)[:, None], self.positions].reshape(-1, cfg["outDim"])
        items = lambda c: self.model(c[:, None, :], torch.ones(c.shape[0], 1))[:, 0]
        loss = all_action_info_nce(
            picked, self.history_users, items(self.target_content), self.target_users, self.target_items,
            items(self.sampled_content), self.sampled_items, cfg["temperature"],
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg["clipNorm"] > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg["clipNorm"])
        self.optimizer.step()
        return loss.item()


def main():
    once = "--once" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--once"]
    spec = json.loads(args[0]) if args else {}
    cfg = {
        "contentDim": 384, "dim": 128, "layers": 2, "heads": 4, "ffDim": 512, "outDim": 64, "maxHistory": 50,
        "dropout": 0.1, "historySamples": 10, "negativeSamples": 256, "temperature": 0.2, "learningRate": 1e-3,
        "weightDecay": 0.01, "clipNorm": 1.0, **spec.get("config", {}),
    }
    step = Step(cfg, spec.get("users", 64), spec.get("targetsPerUser", 4))
    if once:
        for threads in (2, 1):
            torch.set_num_threads(threads)
            step.run()
            t0 = time.perf_counter()
            for _ in range(3):
                loss = step.run()
            print(json.dumps({"threads": threads, "ms": (time.perf_counter() - t0) * 1000 / 3, "loss": loss}), flush=True)
        return
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        threads = int(json.loads(line)["threads"])
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        loss = step.run()
        print(json.dumps({"threads": torch.get_num_threads(), "ms": (time.perf_counter() - t0) * 1000, "loss": loss}), flush=True)


if __name__ == "__main__":
    main()
