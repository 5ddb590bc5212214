#!/usr/bin/env bash
# apt_install_keeps_packages.sh: scripts/lib.sh never lets apt remove a package, and installs without
# starting services. Everything runs against a crafted dpkg status in a temp dir through
# APT_CONFIG with APT::Get::Simulate, so the real system is only read, never changed:
#   - the status holds Docker CE's containerd.io (Provides/Conflicts/Replaces: runc) and
#     docker-ce depending on it, as on GitHub's Ubuntu runners;
#   - apt_install runc fails with a message naming runc and what apt would remove there
#     (containerd.io and docker-ce: apt's own plan, which --no-remove refuses);
#   - install_debian_packages counts runc as present when containerd.io provides it;
#   - without_service_starts puts a denying policy-rc.d in place for the command only, and
#     disables the service units the command's packages enabled for the next boot.
# Exit 77 (skipped) without apt-get (not Debian).
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh" # fail, skip, need_cmd

ok() { echo "ok: $*"; }
need_cmd apt-get
apt-cache show runc >/dev/null 2>&1 || fail "apt knows no runc package (run apt-get update)"

work=$(mktemp -d "${TMPDIR:-/tmp}/fa-apt.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/status" <<'EOF'
Package: containerd.io
Status: install ok installed
Architecture: amd64
Version: 1.7.27-1
Provides: containerd, runc
Conflicts: containerd, runc
Replaces: containerd, runc
Description: stand-in for Docker CE's containerd.io (test fixture)

Package: docker-ce
Status: install ok installed
Architecture: amd64
Version: 5:28.3.3-1~debian.12~bookworm
Depends: containerd.io (>= 1.7.27)
Description: stand-in for Docker CE (test fixture)

EOF
: >"$work/extended_states"
cat >"$work/apt.conf" <<EOF
Dir::State::status "$work/status";
Dir::State::extended_states "$work/extended_states";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Debug::NoLocking "true";
APT::Get::Simulate "true";
EOF
export APT_CONFIG=$work/apt.conf

# Its policy-rc.d goes to a temp path.
export FA_APT_UPDATE=0 FA_POLICY_RC_D=$work/policy-rc.d
if out=$(bash -c 'source "$1/scripts/lib.sh"; apt_install runc' _ "$root" 2>&1); then
  fail "apt_install runc succeeded against a status with containerd.io: $out"
fi
[[ $out == *"installing runc would remove containerd.io docker-ce, so nothing was installed"* ]] ||
  fail "apt_install's message does not name runc and what it would remove: $out"
[[ $out == *"Keep containerd.io docker-ce: install the equivalent of runc by hand"* ]] ||
  fail "apt_install's message does not say what to do: $out"
[[ ! -e $FA_POLICY_RC_D ]] || fail "policy-rc.d left behind after a failed install"
ok "apt_install runc: $(grep -m1 -o 'error: .*' <<<"$out")"

# A package without conflicts goes through (simulated) with the same function.
out=$(bash -c 'source "$1/scripts/lib.sh"; apt_install file' _ "$root" 2>&1) || fail "apt_install file failed: $out"
ok "apt_install of a package without conflicts succeeds (simulated)"

# install_debian_packages: runc provided by an installed package counts as installed. The
# lookup reads dpkg's database, so it is given a stand-in dpkg-query printing the crafted state.
mkdir -p "$work/bin"
cat >"$work/bin/dpkg-query" <<'EOF'
#!/usr/bin/env bash
printf '%s\n' 'ii |containerd.io|containerd, runc' 'ii |docker-ce|'
EOF
chmod +x "$work/bin/dpkg-query"
printf 'runc\ncontainerd\n' >"$work/list.txt"
out=$(PATH="$work/bin:$PATH" bash -c 'source "$1/scripts/lib.sh"; apt_install() { echo "WOULD INSTALL $*"; }; install_debian_packages "$2"' _ "$root" "$work/list.txt" 2>&1) ||
  fail "install_debian_packages failed: $out"
[[ $out != *"WOULD INSTALL"* ]] || fail "install_debian_packages wants to install a package containerd.io provides: $out"
printf 'runc\nfile\n' >"$work/list.txt"
out=$(PATH="$work/bin:$PATH" bash -c 'source "$1/scripts/lib.sh"; apt_install() { echo "WOULD INSTALL $*"; }; install_debian_packages "$2"' _ "$root" "$work/list.txt" 2>&1)
[[ $out == *"WOULD INSTALL file" ]] || fail "install_debian_packages should install only 'file': $out"
ok "install_debian_packages: runc provided by containerd.io is not installed; a missing package is"

# without_service_starts: the policy denies starts while the command runs, then is gone; an
# existing policy is restored, also after a failing command.
out=$(bash -c 'source "$1/scripts/lib.sh"; without_service_starts sh -c "\"\$FA_POLICY_RC_D\"; echo rc=\$?"' _ "$root" 2>&1)
[[ $out == *rc=101* ]] || fail "policy-rc.d did not deny starts during the command: $out"
[[ ! -e $FA_POLICY_RC_D ]] || fail "policy-rc.d left behind"
printf '#!/bin/sh\nexit 0\n' >"$FA_POLICY_RC_D"
bash -c 'source "$1/scripts/lib.sh"; without_service_starts false' _ "$root" && fail "a failing command was reported as success"
[[ $(cat "$FA_POLICY_RC_D") == $'#!/bin/sh\nexit 0' ]] || fail "the previous policy-rc.d was not restored"
ok "without_service_starts: starts denied during the command only, previous policy restored"

# without_service_starts: a unit that appeared during the command (nginx's, enabled by its package)
# is disabled for the next boot, one that was there before is not. dpkg's file lists and
# deb-systemd-helper are stand-ins.
mkdir -p "$work/units-bin"
printf 'cron: /lib/systemd/system/cron.service\n' >"$work/units"
printf '#!/bin/sh\ncat "%s"\n' "$work/units" >"$work/units-bin/dpkg-query"
# shellcheck disable=SC2016 # the stub's own arguments
printf '#!/bin/sh\n[ "$1" != disable ] || echo "$2" >>"%s"\n' "$work/disabled" >"$work/units-bin/deb-systemd-helper"
chmod +x "$work/units-bin/"*
PATH="$work/units-bin:$PATH" bash -c 'source "$1/scripts/lib.sh"
  without_service_starts sh -c "echo \"nginx-common: /lib/systemd/system/nginx.service\" >>\"\$0\"" "$2"' _ "$root" "$work/units" ||
  fail "without_service_starts failed"
[[ $(cat "$work/disabled" 2>/dev/null) == nginx.service ]] || fail "disabled '$(cat "$work/disabled" 2>/dev/null)', want nginx.service alone"
ok "without_service_starts: the unit the command's package enabled is disabled, the others are left"
