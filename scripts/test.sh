#!/usr/bin/env bash
# The test command: setup, format check, build, every test project. Prints one summary line
# "N passed, N failed, N skipped" and exits non-zero on any failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/setup.sh" || exit 1

echo "== dotnet format --verify-no-changes"
dotnet format Quiver.slnx --verify-no-changes --no-restore 2>/dev/null || {
  dotnet restore Quiver.slnx --nologo -v quiet >/dev/null && dotnet format Quiver.slnx --verify-no-changes || { echo "format check failed: run 'dotnet format Quiver.slnx'"; echo "0 passed, 1 failed"; exit 1; }
}

echo "== build (Release)"
dotnet build Quiver.slnx -c Release --nologo -v quiet -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }

results="$root/.artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
status=0
for proj in tests/*/*.Tests.csproj; do
  name="$(basename "$proj" .csproj)"
  echo "== $name"
  dotnet test "$proj" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --logger "console;verbosity=normal" -- RunConfiguration.TestSessionTimeout=1500000 || status=1
done

# One summary over all projects, from the TRX files.
sum() { cat "$results"/*.trx 2>/dev/null | grep -o "<Counters [^>]*" | grep -o " $1=\"[0-9]*\"" | grep -o "[0-9]*" | awk '{s+=$1} END {print s+0}'; }
passed=$(sum passed); failed=$(( $(sum failed) + $(sum error) + $(sum timeout) )); skipped=$(sum notExecuted)
[ "$failed" -gt 0 ] && status=1
[ "$passed" -eq 0 ] && { echo "no tests ran"; status=1; }
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
