import sys, json, numpy as np, torch
from head import *
torch.set_num_threads(1)
folds = [["clinc150","trec","tweeteval_sentiment","huffpost_headlines","atis","medical_abstracts","tweeteval_irony"],
         ["trec_fine","yin_emotion","subj","tagmynews_titles","nlupp_hotels","amazon_in_products","tweeteval_hate"],
         ["stackoverflow_titles","search_snippets","netflix_genres","arxiv_abstracts","bbc_news","tweet_topic_xl_en","tweeteval_offensive"]]
prefix, layout = sys.argv[1], sys.argv[2]
configs = json.loads(sys.argv[3])
sets, L = load(prefix, layout)
for cfg in configs:
    allres = {}
    for k, held in enumerate(folds):
        tr = [n for f in folds for n in f if n not in held]
        head = train(sets, L, tr, **cfg)
        allres.update(evaluate(head, sets, L, held))
    avg = np.mean(list(allres.values()))
    print(layout, json.dumps(cfg), f"avg {avg:.4f}", " ".join(f"{k[:10]}={v:.3f}" for k, v in allres.items()), flush=True)
