#!/usr/bin/env bash
# Debian packages that provide offline resources: WordNet 3.0 and Fashion-MNIST; and Chromium, the headless
# browser in which tests/test_book.py reads the HTML book (make book).
# Installs them when running as root with apt-get available; otherwise says what to install.
set -u
pkgs="wordnet-base wordnet-sense-index dataset-fashion-mnist chromium"
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
else
  [ -e /usr/share/wordnet/data.noun ] || missing="$missing wordnet-base wordnet-sense-index"
  [ -d /usr/share/datasets/fashion-mnist ] || missing="$missing dataset-fashion-mnist"
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq $missing >/dev/null && exit 0
  echo "warning: apt-get could not install$missing" >&2
else
  echo "note: Debian packages$missing are not installed (need root + apt-get)." >&2
  echo "      Install them with: sudo apt-get install$missing" >&2
  echo "      or WordNet online: python -c \"import nltk; nltk.download('wordnet')\"" >&2
fi
exit 0
