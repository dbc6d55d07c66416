"""``python -m spacy_gliznet benchmark|calibrate|convert|init-model|export|interpolate|find-thresholds|adapt|init-config|label-report|render ...``"""

import argparse
import sys
from typing import List, Optional


def _csv(value: Optional[str]):
    return [v for v in value.split(",") if v] if value else None


OVERWRITE = "replace OUTPUT if it is a non-empty folder (it is written atomically either way)"


def build_parser() -> argparse.ArgumentParser:
    """The command line parser of ``python -m spacy_gliznet``."""
    parser = argparse.ArgumentParser(prog="python -m spacy_gliznet")
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser("benchmark", help="zero-shot macro-F1 per dataset, with the embedding baseline")
    bench.add_argument("model", nargs="?", default=None,
                   help="GliZNet checkpoint (directory or Hub id); default: the bundled model")
    bench.add_argument("--data", required=True, help="folder with manifest.json and *.jsonl")
    bench.add_argument("--output", default=None, help="folder for results.json/.md/.png")
    bench.add_argument("--baseline", default="sentence-transformers/all-MiniLM-L6-v2",
                   help="backbone of the cosine-embedding baseline ('none' to skip)")
    bench.add_argument("--baseline-threshold", type=float, default=0.3,
                   help="cosine cut-off of the baseline on multi-label sets")
    bench.add_argument("--datasets", default=None, help="comma-separated subset")
    bench.add_argument("--limit", type=int, default=0, help="rows per dataset (0: all)")
    bench.add_argument("--batch-size", type=int, default=64)
    bench.add_argument("--no-progress", action="store_true")
    bench.add_argument("--quantize", action="store_true",
                   help="int8 dynamic quantization of the model's Linear layers (CPU)")
    bench.add_argument("--overwrite", action="store_true", help=OVERWRITE)

    cal = sub.add_parser("calibrate", help="fit a checkpoint's temperature and multi-label "
                       "offset on labelled data (e.g. train_pool)")
    cal.add_argument("model", help="GliZNet checkpoint (directory or Hub id)")
    cal.add_argument("output", help="folder for the calibrated checkpoint")
    cal.add_argument("--data", required=True, help="folder with manifest.json and *.jsonl")
    cal.add_argument("--datasets", default=None, help="comma-separated subset")
    cal.add_argument("--exclude", default=None, help="comma-separated datasets to leave out")
    cal.add_argument("--limit", type=int, default=300, help="rows sampled per dataset (0: all)")
    cal.add_argument("--seed", type=int, default=0)
    cal.add_argument("--batch-size", type=int, default=64)
    cal.add_argument("--dtype", default="float16", choices=["float16", "float32"],
                       help="storage dtype of the saved weights")
    cal.add_argument("--no-progress", action="store_true")
    cal.add_argument("--overwrite", action="store_true", help=OVERWRITE)

    from .cli.convert import add_parser as add_convert
    add_convert(sub)

    init = sub.add_parser("init-model", help="a GliZNet start checkpoint from a bare backbone")
    init.add_argument("backbone")
    init.add_argument("output")
    init.add_argument("--label-attention", default="isolated", choices=["full", "isolated", "text"])
    init.add_argument("--logit-scale-init", type=float, default=2.0)
    init.add_argument("--max-length", type=int, default=256)
    init.add_argument("--no-lab-from-cls", action="store_true")
    init.add_argument("--overwrite", action="store_true", help=OVERWRITE)

    exp = sub.add_parser("export", help="save the GliZNet checkpoint of a trained pipeline")
    exp.add_argument("pipeline")
    exp.add_argument("output")
    exp.add_argument("--component", default="gliznet_textcat")
    exp.add_argument("--dtype", default="float16", choices=["float16", "float32"],
                       help="storage dtype of the saved weights")
    exp.add_argument("--max-length", type=int, default=None,
                   help="max_length stored in the checkpoint (0: the backbone's own)")
    exp.add_argument("--overwrite", action="store_true", help=OVERWRITE)

    interp = sub.add_parser("interpolate", help="(1 - alpha) * start + alpha * fine-tune, in weight "
                       "space (WiSE-FT)")
    interp.add_argument("start", help="GliZNet checkpoint the fine-tune started from")
    interp.add_argument("finetuned", help="GliZNet checkpoint or trained spaCy pipeline directory")
    interp.add_argument("output", help="folder for the interpolated checkpoint")
    interp.add_argument("--alpha", type=float, required=True,
                   help="weight of the fine-tune, in [0, 1]")
    interp.add_argument("--component", default="gliznet_textcat")
    interp.add_argument("--dtype", default="float16", choices=["float16", "float32"],
                       help="storage dtype of the saved weights")
    interp.add_argument("--overwrite", action="store_true", help=OVERWRITE)

    from .cli.find_thresholds import add_parser as add_find_thresholds
    add_find_thresholds(sub)
    from .cli.adapt import add_parser as add_adapt
    add_adapt(sub)
    from .cli.workflow import add_parsers as add_workflow
    add_workflow(sub)

    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "benchmark":
        from .cli.benchmark import run_benchmark

        res = run_benchmark(
            args.model, args.data,
            baseline=None if args.baseline.lower() == "none" else args.baseline,
            baseline_threshold=args.baseline_threshold, datasets=_csv(args.datasets),
            limit=args.limit, batch_size=args.batch_size, output=args.output,
            progress=not args.no_progress, quantize=args.quantize, overwrite=args.overwrite,
        )
        print(res["markdown"])
    elif args.command == "calibrate":
        import json

        from .cli.calibrate import calibrate

        report = calibrate(args.model, args.data, args.output, datasets=_csv(args.datasets),
                           exclude=_csv(args.exclude) or (), limit=args.limit, seed=args.seed,
                           batch_size=args.batch_size, dtype=args.dtype,
                           progress=not args.no_progress, overwrite=args.overwrite)
        print(json.dumps(report, indent=2))
        print(f"Saved the calibrated checkpoint to {args.output}")
    elif args.command == "init-model":
        from .cli.init_model import init_model

        out = init_model(args.backbone, args.output, label_attention=args.label_attention,
                         lab_from_cls=not args.no_lab_from_cls,
                         logit_scale_init=args.logit_scale_init, max_length=args.max_length,
                         overwrite=args.overwrite)
        print(f"Saved a start checkpoint to {out}")
    elif args.command == "export":
        from .cli.export import export_model

        out = export_model(args.pipeline, args.output, component=args.component,
                           dtype=args.dtype, max_length=args.max_length,
                           overwrite=args.overwrite)
        size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
        print(f"Saved {out} ({size / 1e6:.1f} MB)")
    elif args.command == "interpolate":
        from .cli.interpolate import interpolate_models

        out = interpolate_models(args.start, args.finetuned, args.output, args.alpha,
                                 component=args.component, dtype=args.dtype,
                                 overwrite=args.overwrite)
        print(f"Saved (1 - {args.alpha:g}) * start + {args.alpha:g} * fine-tune to {out}")
    elif args.command == "find-thresholds":
        from .cli.find_thresholds import run as run_find_thresholds

        run_find_thresholds(args)
    elif args.command == "adapt":
        from .cli.adapt import run as run_adapt

        run_adapt(args)
    elif hasattr(args, "run"):  # commands that register their own runner (cli/workflow.py)
        args.run(args)
    return 0


if __name__ == "__main__":
    from .errors import GliZNetInputError, GliZNetLoadError

    try:
        sys.exit(main())
    except (GliZNetInputError, GliZNetLoadError) as err:  # a user mistake: the message, no traceback
        sys.exit(f"error: {err}")
