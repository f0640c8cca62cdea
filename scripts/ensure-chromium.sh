#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright; never a downloaded browser.
# Installs chromium and a CJK font (so Chinese renders) when missing and we may use apt.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wqy\|noto sans cjk" || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && { echo "chromium: $(chromium --version 2>/dev/null)"; exit 0; }
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} from the Debian archive"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "browser tests need: apt-get install ${need[*]}" >&2
  exit 1
fi
