#!/bin/sh
# `make browser`: Debian's chromium and chromium-driver, which the report's browser test drives through Selenium
# (harness/report/browser.py). Installed with apt-get when either is missing and we are root; otherwise one line
# says what to install. CHROMIUM= and CHROMEDRIVER= name other executables, as they do for the test.
set -eu

have() { command -v "$1" >/dev/null 2>&1; }
present() { have "${CHROMIUM:-chromium}" && have "${CHROMEDRIVER:-chromedriver}"; }
missing() {
    echo "ensure-chromium: the report's browser test needs Debian's chromium and chromium-driver; as root run:" \
         "apt-get install chromium chromium-driver" >&2
    exit 1
}

for name in CHROMIUM CHROMEDRIVER; do
    eval "value=\${$name:-}"
    if [ -n "$value" ] && ! have "$value"; then
        echo "ensure-chromium: $name=$value is not an executable; unset it or point it at one" >&2
        exit 1
    fi
done
present && exit 0
if [ "$(id -u)" -ne 0 ] || ! have apt-get; then
    missing
fi
echo "ensure-chromium: installing Debian's chromium and chromium-driver (apt-get) for the report's browser test" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver >/dev/null
present || missing
