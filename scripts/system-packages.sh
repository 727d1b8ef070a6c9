#!/usr/bin/env bash
# Installs the Debian packages SkillCert needs, when missing.
#   scripts/system-packages.sh run    PDF rendering (WeasyPrint) and Chinese fonts
#   scripts/system-packages.sh test   the above, plus Chromium, pdftoppm and a QR decoder for tests
# As root it installs with apt-get; otherwise it prints the command to run and, for
# what the platform cannot run without, exits non-zero.
set -euo pipefail

mode="${1:-run}"
run_packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk shared-mime-info)
test_packages=(chromium poppler-utils zbar-tools)

wanted=("${run_packages[@]}")
[ "$mode" = "test" ] && wanted+=("${test_packages[@]}")
# A stock Debian python3 needs python3-venv to create the virtual environment.
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  wanted+=(python3-venv)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "Not a Debian-like system: make sure Pango, HarfBuzz (with libharfbuzz-subset), Noto CJK fonts"
  [ "$mode" = "test" ] && echo "and Chromium, pdftoppm and zbarimg"
  echo "are installed."
  exit 0
fi

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "Missing system packages: ${missing[*]}"
echo "Install them with:  sudo apt-get install -y ${missing[*]}"
for pkg in "${missing[@]}"; do
  case " ${run_packages[*]} python3-venv " in
    *" $pkg "*) exit 1 ;;
  esac
done
echo "(Tests that need them will be skipped, each with the reason.)"
exit 0
