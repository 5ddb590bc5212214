#!/usr/bin/env bash
# bash32_lint.sh FILE...: fails on bash >= 4 constructs that bash 3.2 (macOS's /bin/bash) lacks,
# one line per hit (FILE:LINE: construct: text). Debian has no bash 3.2 to run the scripts
# with, so this is a grep over each line without its comment; build-and-deploy.sh sources only
# scripts/log.sh and scripts/deploy_*.sh, so those files are the whole program.
# tests/deploy/fixtures/bash4_constructs.txt holds one example per rule (tests/deploy/deploy_checks.sh
# bash32 checks every one is caught).
# Not caught (check by review): "${arr[@]}" of an empty array under set -u, an error before
# bash 4.4; a case statement inside $( ), which bash 3.2 misparses.
set -euo pipefail

# Each rule: 'what it is (first bash)|extended regex'. Literal ${...}: regexes, not expansions.
# shellcheck disable=SC2016
rules=(
  'mapfile/readarray (bash 4.0)|(^|[^A-Za-z0-9_-])(mapfile|readarray)([^A-Za-z0-9_-]|$)'
  'case modification ${x,,} ${x^^} (bash 4.0)|\$\{[#!]?[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?(,|\^)'
  'parameter transformation ${x@Q} (bash 4.4)|\$\{[^}]*@[QEPAaKkUuL]\}'
  'wait -n / wait -p (bash 4.3 / 5.1)|(^|[^A-Za-z0-9_-])wait[[:space:]]+-[a-z]*[np]'
  'declare/local -A -n -l -u -g -I (bash 4.0-5.0)|(^|[^A-Za-z0-9_-])(declare|local|typeset|readonly)([[:space:]]+-[A-Za-z]+)*[[:space:]]+-[A-Za-z]*[AnlugI]'
  'negative array index ${a[-1]} (bash 4.3)|\$\{[A-Za-z_][A-Za-z0-9_]*\[[[:space:]]*-[0-9]'
  'negative substring length ${x:0:-1} (bash 4.2)|\$\{[A-Za-z_][A-Za-z0-9_]*:[^}:]*:[[:space:]]*-[0-9]'
  '&>> or |& (bash 4.0)|&>>|\|&'
  'case fall-through ;& or ;;& (bash 4.0)|;;&|[^;];&'
  'coproc (bash 4.0)|(^|[^A-Za-z0-9_-])coproc([^A-Za-z0-9_-]|$)'
  'EPOCHSECONDS/EPOCHREALTIME/SRANDOM/BASH_ARGV0 (bash 5)|EPOCHSECONDS|EPOCHREALTIME|SRANDOM|BASH_ARGV0'
  'shopt option of bash >= 4|shopt[[:space:]]+-[su][[:space:]]+(globstar|lastpipe|autocd|checkjobs|dirspell|direxpand|globasciiranges|inherit_errexit|localvar_inherit|assoc_expand_once|compat[0-9]+)'
  '-v VAR test (bash 4.2)|(\[\[|\[|test)[[:space:]]+-v[[:space:]]'
  'printf %(...)T (bash 4.2)|printf.*%\([^)]*\)T'
  'brace range step or zero padding (bash 4.0)|\{-?[0-9]+\.\.-?[0-9]+\.\.-?[0-9]+\}|\{0[0-9]+\.\.[0-9]+\}'
  'read -i / -N (bash 4.0 / 4.1)|(^|[^A-Za-z0-9_-])read([[:space:]]+-[A-Za-z]+)*[[:space:]]+-[A-Za-z]*[iN]'
  'automatic fd {var}> (bash 4.1)|\{[A-Za-z_][A-Za-z0-9_]*\}[<>]'
  '$'"'"'\u'"'"' unicode escape (bash 4.2)|\$'"'"'[^'"'"']*\\[uU][0-9a-fA-F]'
  'local - (bash 4.4)|(^|[^A-Za-z0-9_-])local[[:space:]]+-([[:space:]]|$)'
)

hits=0
for file in "$@"; do
  # Comments blanked (line numbers kept), then one grep per rule.
  code=$(sed -E 's/(^|[[:space:]])#.*$//' "$file")
  for rule in "${rules[@]}"; do
    while IFS= read -r hit; do
      [[ -n $hit ]] || continue
      echo "$file:${hit%%:*}: ${rule%%|*}: $(sed -n "${hit%%:*}p" "$file")"
      hits=$((hits + 1))
    done < <(printf '%s\n' "$code" | grep -nE -- "${rule#*|}" || true)
  done
done
((hits == 0)) || exit 1
