#!/usr/bin/env bash
# Build the folder a GPU machine without spaCy needs to run gpu_check.py (run here, with network).
#
#   examples/benchmarks/gpu/prepare_wheels.sh [OUT]        # OUT: default gpu_bundle (git-ignored)
#
# The GPU image (see README.md) has Python 3.12, torch, numpy, cupy, typer/click/rich, requests,
# tqdm, pyyaml, regex, jinja2, filelock, fsspec, wrapt, typing-extensions and transformers 5.x,
# but no spaCy. This script downloads, with pip, the wheels of what is missing (spaCy 3.8 and its
# compiled helpers, thinc 8.3, blis, pydantic 2 (+core), srsly, cymem, preshed, murmurhash,
# wasabi, catalogue, confection, weasel (+cloudpathlib, smart-open), spacy-legacy, spacy-loggers)
# and the transformers this package is tested with (4.53.2, tokenizers 0.21, huggingface-hub 0.x,
# which shadow the image's 5.x on PYTHONPATH), for CPython 3.12 (the image's), 3.11 and 3.13,
# manylinux x86_64. A device call carries the whole working tree (about 46 MiB with the bundled
# model) plus its carried paths, 64 MiB in all, so the wheels do not fit as they come (spaCy's
# alone is 35 MB, mostly debug symbols): each set is installed here with
# `pip install --no-deps --target`, its shared objects stripped of debug symbols, its tests,
# scripts and Cython/C sources dropped (and transformers' TensorFlow/Flax models),
# and packed as one .tar.xz:
#
#   OUT/site-pure.tar.xz     pure-Python packages and the abi3 tokenizers wheel (any CPython 3)
#   OUT/site-cp3XX.tar.xz    the compiled packages for CPython 3.XX
#   OUT/texts.json.xz        2,000 benchmark texts and 16 labels (seed 0), as host_overhead.py samples them
#   OUT/MANIFEST.txt         what is in each archive, and the sizes
#
# spacy-transformers and spacy-alignments (in setup.cfg) are left out: the package never
# imports them, and they would pull torch. This project's own wheel is left out too: the
# working tree travels with every call and run_on_gpu.sh puts it on PYTHONPATH (a wheel would
# carry the 45 MB model a second time). run_on_gpu.sh unpacks the archives on the GPU machine.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT="${1:-$REPO/gpu_bundle}"
PY="${PYTHON:-python3}"
CACHE="${WHEELS_CACHE:-/tmp/gliznet_wheels}"   # downloads (not carried)
STAGE="$(mktemp -d /tmp/gliznet_stage.XXXXXX)"
TAGS="${PYTHON_TAGS:-312 311 313}"
LIMIT_MIB="${LIMIT_MIB:-64}"
trap 'rm -rf "$STAGE"' EXIT

PURE="pydantic==2.14.4 annotated-types==0.8.0 typing-inspection==0.4.5 wasabi==1.1.3
catalogue==2.0.10 confection==1.3.4 weasel==1.0.1 cloudpathlib==0.26.0 smart-open==9.0.4
spacy-legacy==3.0.12 spacy-loggers==1.0.5 transformers==4.53.2 huggingface-hub==0.36.2
typing-extensions==4.16.0"
ABI3="tokenizers==0.21.4"
BINARY="spacy==3.8.18 thinc==8.3.14 blis==1.3.4 srsly==2.5.6 cymem==2.0.16 preshed==3.0.15
murmurhash==1.0.16 pydantic-core==2.50.5"
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64
--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"

mkdir -p "$OUT" "$CACHE/pure" "$CACHE/abi3"
rm -f "$OUT"/site-*.tar.xz "$OUT/MANIFEST.txt" "$OUT"/texts.json*
pip_() { "$PY" -m pip "$@" --disable-pip-version-check --quiet; }

echo "downloading into $CACHE"
# shellcheck disable=SC2086
pip_ download --no-deps --only-binary=:all: -d "$CACHE/pure" $PURE
# shellcheck disable=SC2086
pip_ download --no-deps --only-binary=:all: $PLATFORMS --python-version 3.12 --implementation cp \
    --abi abi3 -d "$CACHE/abi3" $ABI3

slim() {  # strip debug symbols; drop tests, scripts, caches and the Cython/C sources
    find "$1" -name "*.so" -exec strip --strip-unneeded {} +
    find "$1" -depth -type d \( -name tests -o -name __pycache__ \) -exec rm -rf {} + 2>/dev/null || true
    find "$1" -type f \( -name "*.cpp" -o -name "*.c" -o -name "*.pyx" -o -name "*.pxd" -o -name "*.h" \) -delete
    rm -rf "$1/bin"
}
export XZ_OPT="-9e"

echo "site-pure"
pip_ install --no-deps --no-compile --no-index --target "$STAGE/pure" "$CACHE"/pure/*.whl
# shellcheck disable=SC2086
pip_ install --no-deps --no-compile --no-index --target "$STAGE/pure" $PLATFORMS \
    --python-version 3.12 --implementation cp --abi abi3 --only-binary=:all: "$CACHE"/abi3/*.whl
slim "$STAGE/pure"
# transformers' TensorFlow and Flax models and its checkpoint conversion scripts (never
# imported here: no TensorFlow, no Flax; its PyTorch models stay, as its auto classes import
# some of them)
find "$STAGE/pure/transformers/models" -type f \( -name "modeling_tf_*.py" \
    -o -name "modeling_flax_*.py" -o -name "convert_*.py" \) -delete
tar -cJf "$OUT/site-pure.tar.xz" -C "$STAGE/pure" .
{ echo "site-pure.tar.xz:"; ls "$STAGE/pure" | grep dist-info | sed 's/^/  /'; } >> "$OUT/MANIFEST.txt"

for tag in $TAGS; do
    version="${tag:0:1}.${tag:1}"
    echo "site-cp$tag (CPython $version)"
    mkdir -p "$CACHE/cp$tag"
    # shellcheck disable=SC2086
    pip_ download --no-deps --only-binary=:all: $PLATFORMS --python-version "$version" \
        --implementation cp --abi "cp$tag" -d "$CACHE/cp$tag" $BINARY
    # shellcheck disable=SC2086
    pip_ install --no-deps --no-compile --no-index --target "$STAGE/cp$tag" $PLATFORMS \
        --python-version "$version" --implementation cp --abi "cp$tag" --only-binary=:all: \
        "$CACHE/cp$tag"/*.whl
    slim "$STAGE/cp$tag"
    tar -cJf "$OUT/site-cp$tag.tar.xz" -C "$STAGE/cp$tag" .
    { echo "site-cp$tag.tar.xz:"; ls "$STAGE/cp$tag" | grep dist-info | sed 's/^/  /'; } >> "$OUT/MANIFEST.txt"
done

echo "texts.json"
PYTHONPATH="$REPO" "$PY" - "$OUT/texts.json" <<'EOF'
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path("examples/benchmarks/speed").resolve()))
import host_overhead
texts, labels = host_overhead.load_texts(host_overhead.DATA, 2000, 16, 0)
Path(sys.argv[1]).write_text(json.dumps({"source": str(host_overhead.DATA), "texts": texts,
                                         "labels": labels}), encoding="utf8")
EOF
xz -f "$OUT/texts.json"

tree=$(cd "$REPO" && git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
common=$(du -cb "$OUT/site-pure.tar.xz" "$OUT/texts.json.xz" | tail -1 | cut -f1)
status=0
{
  echo "sizes (bytes):"
  (cd "$OUT" && du -b -- * | sed 's/^/  /')
  echo "  working tree (tracked + untracked, not ignored): $tree"
  for tag in $TAGS; do
    one=$(du -b "$OUT/site-cp$tag.tar.xz" | cut -f1)
    echo "  one device call carrying site-pure + site-cp$tag + texts: tree + $((common + one)) =" \
         "$((tree + common + one)) of $((LIMIT_MIB * 1048576)) allowed"
  done
} | tee -a "$OUT/MANIFEST.txt"
for tag in $TAGS; do
  one=$(du -b "$OUT/site-cp$tag.tar.xz" | cut -f1)
  if [ $((tree + common + one)) -gt $((LIMIT_MIB * 1048576)) ]; then
    echo "prepare_wheels: tree + site-pure + site-cp$tag + texts exceed ${LIMIT_MIB} MiB" >&2
    status=1
  fi
done
exit $status
