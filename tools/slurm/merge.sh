#!/bin/bash
# Folds every shard's results into the gradebook, once the array is over. Chained with
# --dependency=afterany (not afterok): a failed shard must not hide the others' grades, its
# students show as missing, and merge is idempotent (run it again after re-running a shard).
#   sbatch --dependency=afterany:<array job id> tools/slurm/merge.sh ch01 8 [merge options]
#SBATCH --job-name=nnbook-merge
set -euo pipefail
assignment=$1 shards=$2
shift 2
exec nnbook-course merge "$@" .grading/"$assignment"/shard-*-of-"$shards"
