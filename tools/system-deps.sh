#!/usr/bin/env bash
# Installs the Debian packages the course needs beyond PyPI, only when missing:
#   graphviz               the `dot` binary that draws computational graphs
#   dataset-fashion-mnist  real, full-size Fashion-MNIST IDX files for offline training
#   chromium, chromium-driver  headless browser for the site checks (only with --browser)
#   bubblewrap             `bwrap`: the sandbox of the grading kernel (nnbook-course grade)
# As root it runs apt-get; otherwise it prints the exact command to run and fails
# for what is required (dot) or warns for what is optional.
set -euo pipefail
want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || missing+=(dataset-fashion-mnist)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if [ "$want_browser" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # debconf says, once per run, that it delays configuration without apt-utils: not a problem
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    2> >(grep -v "^debconf: delaying package configuration, since apt-utils is not installed$" >&2)
  exit 0
fi

echo "[setup] missing system packages: ${missing[*]}"
echo "[setup] run:  sudo apt-get install ${missing[*]}   (macOS: brew install graphviz)"
# Only the dot binary is required to build the book; the rest degrade gracefully.
command -v dot >/dev/null 2>&1 || exit 1
