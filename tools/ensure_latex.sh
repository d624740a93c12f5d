#!/usr/bin/env bash
# Make TeX Live available for the PDF (`make pdf`, tests/test_pdf.py): xelatex and latexmk, xeCJK
# (with ctex's hooks) and the Noto CJK fonts for the Chinese glossary terms, the FreeFont family
# Sphinx sets for xelatex. Debian packages, installed only when something is missing, as root or
# through passwordless sudo. In CI (CI=true) the PDF is required: a failed install is an error.
# Elsewhere the PDF test skips with a message naming what to install.
set -u
PACKAGES="texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex
  texlive-lang-chinese latexmk fonts-freefont-otf tex-gyre fonts-noto-cjk"

have_latex() {
  command -v xelatex >/dev/null 2>&1 && command -v latexmk >/dev/null 2>&1 \
    && kpsewhich xeCJK.sty >/dev/null 2>&1 && kpsewhich ctexhook.sty >/dev/null 2>&1 \
    && fc-list 2>/dev/null | grep -q "Noto Serif CJK SC" && fc-list 2>/dev/null | grep -q "FreeSerif"
}

if have_latex; then echo "latex: $(command -v xelatex), xeCJK, Noto CJK"; exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; fi
if { [ "$(id -u)" = "0" ] || [ -n "$SUDO" ]; } && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian TeX Live and CJK fonts for the PDF (about 600 MB, a few minutes)"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  if $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null && have_latex; then
    exit 0
  fi
fi
if [ "${CI:-}" = "true" ]; then
  echo "error: TeX Live (xelatex, xeCJK) and the Noto CJK fonts are required in CI and could not be installed" >&2
  exit 1
fi
echo "note: TeX Live for the PDF is not available (Debian: apt-get install $(echo $PACKAGES));" \
     "the PDF test will be skipped"
exit 0
