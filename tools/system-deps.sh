#!/usr/bin/env bash
# Installs the Debian packages the course needs beyond PyPI, only when missing:
#   graphviz               the `dot` binary that draws computational graphs
#   dataset-fashion-mnist  real, full-size Fashion-MNIST IDX files for offline training
#   bubblewrap             `bwrap`: the sandbox of the grading kernel (nnbook-course grade)
# and, only when asked for:
#   --browser  chromium, chromium-driver, npm: the headless browser of the site checks and
#              npm for axe-core (tools/axe.sh installs it into _build/.npm, not system-wide)
#   --slurm    slurm-wlm, munge: a one-node Slurm for tests/test_slurm.py (daemons are
#              started by the test, never by the package: no systemd here)
#   --pdf      TeX for `make pdf` (xelatex, latexmk, the LaTeX packages Sphinx's preamble
#              uses, FreeFont), librsvg2-bin (SVG outputs such as graphviz drawings to PNG)
#              and poppler-utils (pdftotext, read by `leaks`); ~300 MB
# As root it runs apt-get; otherwise it prints the exact command to run and fails
# for what is required (dot, or what a flag asked for) or warns for what is optional.
set -euo pipefail
want_browser=0 want_slurm=0 want_pdf=0
for flag in "$@"; do
  case "$flag" in
    --browser) want_browser=1 ;;
    --slurm) want_slurm=1 ;;
    --pdf) want_pdf=1 ;;
    *) echo "[setup] unknown option $flag (known: --browser --slurm --pdf)" >&2; exit 2 ;;
  esac
done

missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || missing+=(dataset-fashion-mnist)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if [ "$want_browser" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ "$want_slurm" = 1 ]; then
  command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
  command -v munged >/dev/null 2>&1 || missing+=(munge)
fi
if [ "$want_pdf" = 1 ]; then
  for package in texlive-latex-extra texlive-xetex texlive-fonts-recommended latexmk fonts-freefont-otf librsvg2-bin \
                 poppler-utils; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
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
# The dot binary is required to build the book, and what a flag asked for is required by
# the command that asked; the rest degrade gracefully.
command -v dot >/dev/null 2>&1 || exit 1
[ "$want_slurm$want_pdf" = 00 ] || exit 1
