#!/usr/bin/env bash
# Run gpu_check.py on a machine whose Python has torch (and cupy) but no spaCy, from the
# repository root, with what prepare_wheels.sh built (README.md gives the device call).
#
#   examples/benchmarks/gpu/run_on_gpu.sh [--allow-cpu] [more gpu_check.py options]
#
# 1. Unpacks gpu_bundle/site-pure.tar.xz and gpu_bundle/site-cpXY.tar.xz (XY: this Python's
#    version) into $GLIZ_SITE (default /tmp/gliz_site, outside the repository), once: a folder
#    that already holds them is reused.
# 2. Checks the imports (spaCy, thinc, transformers, this package from the working tree) and
#    prints their versions and where they come from.
# 3. Runs gpu_check.py on gpu_bundle/texts.json.xz with PYTHONPATH=$GLIZ_SITE:<repo>, so the
#    carried packages come before the image's (transformers 4.53 before its 5.x) and torch,
#    numpy and cupy come from the image. Results: gpu_check.json in $OUT (the device call's
#    output folder) when set, else in the current folder; the table goes to stdout.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
BUNDLE="${GLIZ_BUNDLE:-$REPO/gpu_bundle}"
SITE="${GLIZ_SITE:-/tmp/gliz_site}"
PY="${PYTHON:-python3}"
RESULTS="${OUT:-.}"

tag="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')"
echo "python: $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
if [ ! -f "$SITE/.unpacked-cp$tag" ]; then
    for archive in "$BUNDLE/site-pure.tar.xz" "$BUNDLE/site-cp$tag.tar.xz"; do
        if [ ! -f "$archive" ]; then
            echo "run_on_gpu: $archive is missing: build it with" \
                 "PYTHON_TAGS=$tag examples/benchmarks/gpu/prepare_wheels.sh and carry it" >&2
            exit 3
        fi
    done
    rm -rf "$SITE" && mkdir -p "$SITE"
    # Python's own tarfile and lzma: no reliance on the image having xz
    "$PY" -c 'import sys, tarfile
for archive in sys.argv[2:]:
    with tarfile.open(archive) as tar:
        tar.extractall(sys.argv[1], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))' \
        "$SITE" "$BUNDLE/site-pure.tar.xz" "$BUNDLE/site-cp$tag.tar.xz"
    touch "$SITE/.unpacked-cp$tag"
    echo "unpacked into $SITE ($(du -sh "$SITE" | cut -f1))"
fi

export PYTHONPATH="$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$PY" - <<'PYEOF'
import importlib
# transformers.modeling_utils imports the image's accelerate (and kernels, peft... where
# present) against the carried huggingface_hub: import it here, to stop early and say which
for name in ("torch", "numpy", "cupy", "spacy", "thinc", "transformers", "tokenizers",
             "transformers.modeling_utils", "transformers.models.bert.modeling_bert", "spacy_gliznet"):
    try:
        mod = importlib.import_module(name)
        print(f"  {name} {getattr(mod, '__version__', '')} ({mod.__file__})")
    except Exception as err:  # cupy is optional for the CPU dry run
        print(f"  {name}: not importable ({type(err).__name__}: {err})")
        if name not in ("cupy",):
            raise SystemExit(4)
PYEOF

texts=()
if [ -f "$BUNDLE/texts.json.xz" ]; then
    "$PY" -c 'import lzma, sys; open(sys.argv[2], "wb").write(lzma.open(sys.argv[1]).read())' \
        "$BUNDLE/texts.json.xz" /tmp/gliz_texts.json
    texts=(--texts /tmp/gliz_texts.json)
fi
mkdir -p "$RESULTS"
exec "$PY" "$REPO/examples/benchmarks/gpu/gpu_check.py" "${texts[@]}" \
    --output "$RESULTS/gpu_check.json" "$@"
