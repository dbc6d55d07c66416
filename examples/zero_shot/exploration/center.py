import sys, numpy as np, torch, torch.nn.functional as F
from head import load
from spacy_gliznet.cli.benchmark import macro_f1
prefix, layout = sys.argv[1], sys.argv[2]
sets, L = load(prefix, layout)
allX = torch.cat([d["X"] for d in sets.values()])
mu_t = allX.mean(0); mu_l = L.mean(0)
def run(name, tf, lf, thr):
    res = {}
    for n, d in sets.items():
        X = F.normalize(tf(d["X"]), dim=-1); Lb = F.normalize(lf(L[d["li"]]), dim=-1); S = X @ Lb.T
        gold = [torch.nonzero(y).flatten().tolist() for y in d["Y"]]
        pred = [torch.nonzero(r >= thr).flatten().tolist() for r in S] if d["multi"] else [[int(i)] for i in S.argmax(1)]
        res[n] = macro_f1(gold, pred, S.shape[1])
    single = np.mean([v for n, v in res.items() if not sets[n]["multi"]])
    print(f"{layout} {name:28s} avg {np.mean(list(res.values())):.4f} single {single:.4f} ", " ".join(f"{k[:8]}={v:.2f}" for k, v in res.items()), flush=True)
I = lambda x: x
for a in (0.0, 0.5, 1.0):
    for b in (0.0, 0.5, 1.0):
        run(f"text-{a}mu label-{b}mu", lambda x, a=a: x - a * mu_t, lambda l, b=b: l - b * mu_l, 0.3)
