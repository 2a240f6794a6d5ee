#!/usr/bin/env bash
# One session on a lent GPU machine (session 8): the GPU tests, then a phantom radiograph cohort made on the
# machine's cores, the bundled recipe (resnet18 w 0.25) and the published network (DenseNet121, full width) trained
# on the GPU with the same data and options, both scored on an external cohort of another seed.
#
#   bash benchmarks/cxr_gpu_run.sh OUT [N_TRAIN=4000] [N_EXTERNAL=500] [WORKERS=nproc]
#   environment: CXR_GPU_RUNS="r1 r2" (which models), CXR_GPU_SKIP_TESTS=1, CXR_GPU_DEVICE=cpu (a dry run),
#   CXR_GPU_WORK=/tmp/cxrgpu (where the films go)
#
# Measured on one H200 with 16 cores (session 8): tests 80 s, 500 + 4,000 films 305 s, the bundled recipe 93 s.
# Each stage logs to OUT/log.txt as it ends, and OUT/results.tar.gz is rewritten after each stage, so a run cut off
# by its time limit still returns what it finished. Results of session 8: benchmarks/results/cxr_gpu_s8_*.
set -u
OUT=${1:?usage: cxr_gpu_run.sh OUT [N_TRAIN] [N_EXTERNAL] [WORKERS]}
N=${2:-4000}; NEXT=${3:-500}; W=${4:-$(nproc)}
WD=${CXR_GPU_WORK:-/tmp/cxrgpu}
DEV=${CXR_GPU_DEVICE:-cuda}  # cpu for a dry run of this script on a machine without a GPU
H="python3 -m hounsfield"
mkdir -p "$OUT" "$WD"
export PYTHONUNBUFFERED=1
log() { echo "== $(date +%T) $*" | tee -a "$OUT/log.txt"; }
pack() {  # what is finished, small files only (models are float16: resnet18 w 0.25 1.4 MB, DenseNet121 ~14 MB)
  local have
  have=$(cd "$WD" && ls -d r* ext/labels.csv ext/cohort.json tr/labels.csv tr/cohort.json pred_* eval_* 2>/dev/null)
  [ -n "$have" ] || return 0
  (cd "$WD" && tar czf "$OUT/results.tar.gz.part" --exclude='*.npz' --exclude='images' --exclude='*.png' $have \
     && mv "$OUT/results.tar.gz.part" "$OUT/results.tar.gz")
}
run() { log "$*"; "$@" >>"$OUT/log.txt" 2>&1; local rc=$?; log "rc $rc"; pack; return $rc; }

log "machine: $(nproc) cores"; nvidia-smi -L >>"$OUT/log.txt" 2>&1
python3 -c "import torch, monai; print('torch', torch.__version__, torch.cuda.get_device_name(0), 'monai', monai.__version__)" >>"$OUT/log.txt" 2>&1

# 1. the tests that train, now on the GPU (--device auto picks it), and the GPU-only tests
[ -n "${CXR_GPU_SKIP_TESTS:-}" ] || run python3 -m pytest -q -p no:cacheprovider -rs -n 8 --dist loadfile tests/training \
    tests/cxr/test_cxr_train.py tests/cxr/test_calcium_map.py tests/cxr/test_cxr_clinical.py tests/levels/test_train.py \
    tests/clot/test_train_cli.py tests/vertebrae/test_train.py tests/calcium/test_train.py tests/calcium/test_heart_model.py

# 2. the cohorts: external first (every model is scored on it), then the training films
run $H phantom cxr --n "$NEXT" --seed 4242 -o "$WD/ext" --workers "$W"
run $H phantom cxr --n "$N" --seed 2026 -o "$WD/tr" --workers "$W"

# 3. the bundled recipe (as in the manifest of cxr-cac) on the GPU, then DenseNet121 with the published lr
COMMON="--data $WD/tr/labels.csv --task classify --kfold 5 --max-folds 1 --wd 1e-4 --batch-size 32 --momentum 0.9
        --size 224 --region heart --no-equalize --bn-images 192 --seed 0 --n-boot 500 --cache $WD/inputs.npz
        --aux age,sex --device $DEV --viz --save"
train_and_score() {  # NAME, then the options of the network
  local name=$1; shift
  run $H train cxr -o "$WD/$name" $COMMON "$@"
  run $H cxr "$WD/ext/images" --csv "$WD/pred_$name.csv" --model "$WD/$name/model.pt" --device $DEV
  run $H evaluate cxr "$WD/pred_$name.csv" "$WD/ext/labels.csv" --json "$WD/eval_$name.json" --by sex
}
RUNS=${CXR_GPU_RUNS:-r1 r2}  # e.g. CXR_GPU_RUNS=r2 for DenseNet121 alone
case " $RUNS " in *" r1 "*) train_and_score r1_resnet18w025 --arch resnet18 --width 0.25 --stem-stride 2 --epochs 12 --lr 1e-3 ;; esac
case " $RUNS " in *" r2 "*) train_and_score r2_densenet121 --arch densenet121 --epochs 20 --patience 6 --lr 3e-4 ;; esac
log done
