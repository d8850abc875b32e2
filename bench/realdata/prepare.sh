#!/usr/bin/env bash
# prepare.sh OUT: lay out the real, labelled sensor data sets (and the real
# series for denoising) that the evaluation harness reads, as
# OUT/<set>/eval.json beside CSV files. README.md in this folder describes
# each set, its licence and its protocol. Nothing here is committed: the data
# come from snapshots of public repositories at
# ${EDGE_MIRROR:-/work/.mirror}/<owner>+<name>, or else from a shallow git
# clone into ${EDGE_DATA_CACHE:-~/.cache/edge-realdata}; a set whose source
# cannot be had is skipped with a loud message and the rest go on.
# Re-running replaces each set whole (idempotent). Needs go and git.
set -uo pipefail

if [[ $# -ne 1 || $1 == -* ]]; then
  echo "usage: $0 OUT" >&2
  exit 2
fi
out=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
mirror=${EDGE_MIRROR:-/work/.mirror}
cache=${EDGE_DATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-realdata}
# Tennessee Eastman ships in the workplace's shared/ beside the checkout.
tep=${EDGE_TEP:-}
if [[ -z $tep ]]; then
  for d in "$root/../shared/data/tep" /work/shared/data/tep; do
    [[ -f $d/normal_train.csv ]] && tep=$d && break
  done
fi

mkdir -p "$out" "$cache" || exit 1
out=$(cd "$out" && pwd)
start=$SECONDS

tool=$(mktemp -d)/realdata
trap 'rm -rf "$(dirname "$tool")"' EXIT
(cd "$root" && CGO_ENABLED=0 go build -o "$tool" ./bench/realdata) || {
  echo "prepare.sh: cannot build bench/realdata" >&2
  exit 1
}

# gitdir OWNER/NAME prints a git dir holding the repository's snapshot.
gitdir() {
  local repo=$1 base d
  base=$mirror/${repo/\//+}
  for d in "$base" "$base/repo" "$base/repo/.git" "$base/.git"; do
    if [[ -d $d ]] && git --git-dir="$d" rev-parse --verify -q HEAD >/dev/null 2>&1; then
      echo "$d"
      return 0
    fi
  done
  d=$cache/${repo/\//+}
  if [[ -d $d/.git ]] && git --git-dir="$d/.git" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    echo "$d/.git"
    return 0
  fi
  rm -rf "$d"
  echo "prepare.sh: no snapshot of $repo under $mirror; trying git clone --depth 1" >&2
  if GIT_TERMINAL_PROMPT=0 git clone -q --depth 1 "https://github.com/$repo" "$d" >&2; then
    echo "$d/.git"
    return 0
  fi
  rm -rf "$d"
  return 1
}

declare -A source=(
  [smap]=imperial-qore/TranAD
  [msl]=imperial-qore/TranAD
  [gecco]=mat-analysis/datasets
  [airquality]=Eugenia-Z/AirQualityAnalysis
  [occupancy]=muditabaid/RoomOccupancyDetector
  [bibmon]=petrobras/BibMon
)
prepared=()
skipped=()

skip() {
  skipped+=("$1")
  echo >&2
  echo "######## SKIPPED set $1: $2" >&2
  [[ -d $out/$1 ]] && echo "######## (an earlier copy in $out/$1 is left as it was)" >&2
  echo >&2
}
declare -A unreachable=()

for set in $("$tool" sets); do
  if [[ $set == tep ]]; then
    if [[ -z $tep ]]; then
      skip tep "no shared/data/tep beside the checkout nor at /work/shared/data/tep (set EDGE_TEP)"
      continue
    fi
    args=(-src "$tep")
  else
    repo=${source[$set]}
    if [[ -n ${unreachable[$repo]:-} ]] || ! g=$(gitdir "$repo"); then
      unreachable[$repo]=1
      skip "$set" "its source https://github.com/$repo is neither in $mirror nor clonable"
      continue
    fi
    args=(-git "$g")
  fi
  echo "prepare.sh: $set ..." >&2
  if "$tool" build -set "$set" "${args[@]}" -out "$out/$set"; then
    prepared+=("$set")
    if [[ $set == smap || $set == msl ]]; then
      # The telemetry channel alone: a univariate set over the same files.
      "$tool" univariate "$out/$set" "$out/${set}1" && prepared+=("${set}1")
    fi
  else
    skip "$set" "converting it failed (see the message above)"
  fi
done

echo
echo "prepared ${#prepared[@]} sets in $out in $((SECONDS - start)) s: ${prepared[*]:-none}"
((${#skipped[@]})) && echo "SKIPPED ${#skipped[@]} sets: ${skipped[*]}"
echo
"$tool" check "$out"
status=$?
((${#skipped[@]})) && status=1
exit $status
