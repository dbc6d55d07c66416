"""Train linear text/label projectors on cached frozen features; leave-datasets-out evaluation."""
import json
import numpy as np, torch, torch.nn.functional as F
from spacy_gliznet.cli.benchmark import macro_f1
torch.manual_seed(0)

def load(prefix, layout):
    z = np.load(prefix + ".npz"); meta = json.load(open(prefix + ".json"))
    X = torch.tensor(z[layout + "_text"]); L = torch.tensor(z[layout + "_label"])
    lidx = {s: i for i, s in enumerate(meta["label_strings"])}
    sets, off = {}, 0
    for name, d in meta["datasets"].items():
        n = d["n"]; labs = d["labels"]; li = torch.tensor([lidx[l] for l in labs])
        Y = torch.zeros(n, len(labs))
        for r, g in enumerate(d["gold"]):
            for l in g: Y[r, labs.index(l)] = 1
        sets[name] = dict(X=X[off:off+n], li=li, Y=Y, multi=d["task"] == "multi_label")
        off += n
    return sets, L

class Head(torch.nn.Module):
    def __init__(s, d, center=None):
        super().__init__()
        s.Wt = torch.nn.Linear(d, d); s.Wl = torch.nn.Linear(d, d)
        for W in (s.Wt, s.Wl):
            torch.nn.init.eye_(W.weight); torch.nn.init.zeros_(W.bias)
        s.tau = torch.nn.Parameter(torch.tensor(3.0)); s.taub = torch.nn.Parameter(torch.tensor(3.0))
        s.c0 = torch.nn.Parameter(torch.tensor(0.0))
    def sims(s, X, L):
        return F.normalize(s.Wt(X), dim=-1) @ F.normalize(s.Wl(L), dim=-1).T
    def reg(s):
        eye = torch.eye(s.Wt.weight.shape[0])
        return ((s.Wt.weight - eye) ** 2).sum() + ((s.Wl.weight - eye) ** 2).sum() + (s.Wt.bias**2).sum() + (s.Wl.bias**2).sum()

def evaluate(head, sets, L, names, c0=None):
    res = {}
    with torch.no_grad():
        for n in names:
            d = sets[n]; S = head.sims(d["X"], L[d["li"]])
            gold = [list(torch.nonzero(y).flatten().tolist()) for y in d["Y"]]
            if d["multi"]:
                thr = head.c0.item() if c0 is None else c0
                pred = [list(torch.nonzero(r >= thr).flatten().tolist()) for r in S]
            else:
                pred = [[int(i)] for i in S.argmax(1)]
            res[n] = macro_f1(gold, pred, S.shape[1])
    return res

def train(sets, L, names, steps=300, lr=1e-3, lam=1.0, bs=64, bce_w=1.0, seed=0, train_c0_only=False):
    g = torch.Generator().manual_seed(seed)
    head = Head(L.shape[1])
    params = [head.c0, head.taub] if train_c0_only else list(head.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    # sample datasets proportional to sqrt(size)? uniform over datasets
    for step in range(steps):
        loss = 0.0
        for n in names:
            d = sets[n]; idx = torch.randint(0, d["X"].shape[0], (bs // 4,), generator=g)
            S = head.sims(d["X"][idx], L[d["li"]]); Y = d["Y"][idx]
            logits = S * head.tau.exp()
            logp = logits.log_softmax(-1)
            pos = Y.sum(1).clamp(min=1)
            supcon = -((logp * Y).sum(1) / pos)[Y.sum(1) > 0].mean()
            bce = F.binary_cross_entropy_with_logits((S - head.c0) * head.taub.exp(), Y)
            loss = loss + supcon + bce_w * bce
        loss = loss / len(names) + lam * 1e-3 * head.reg()
        opt.zero_grad(); loss.backward(); opt.step()
    return head
