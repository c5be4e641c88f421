#!/bin/bash
# One task of a Slurm job array: grades the K-th of N shards of a class, K and N from Slurm
# (so the array must be numbered 1..N: --array=1-N). Submitted from the course repository,
# on storage every node mounts; the job runs there (sbatch's default working directory).
#   sbatch --array=1-8 --cpus-per-task=2 tools/slurm/grade-shard.sh ch01 [grade options]
#SBATCH --job-name=nnbook-grade
set -euo pipefail
exec nnbook-course grade "$@" --workers "${SLURM_CPUS_PER_TASK:-1}" \
    --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"
