#!/usr/bin/env bash
# The consumer smoke test: what a user gets from npm.
#  1. pack every package under packages/* (prepack builds it), check each tarball's contents,
#     and run publint and @arethetypeswrong/cli on it;
#  2. npm-install the tarballs into a throwaway project under /tmp (no workspace links);
#  3. there, in plain Node (no tsx), on Node 20, 22 and 24: the README's Usage program against
#     real local backends, a CommonJS require() consumer, every package through import and
#     require(), fetch through switchyard() and a grpc-js client on switchyard:/// against real
#     local servers, and tsc on a TypeScript consumer with nodenext and with bundler resolution.
# Usage: bash .ci/consumer-smoke.sh   (or: npx -y pnpm@10.34.8 test:consumer)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
pnpm=(npx -y pnpm@10.34.8)
work=$(mktemp -d /tmp/switchyard-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
packs="$work/packs"
app="$work/app"
mkdir -p "$packs" "$app"

if [ -n "${SWITCHYARD_PACKS:-}" ]; then
  echo "--- the tarballs already packed in $SWITCHYARD_PACKS"
  cp "$SWITCHYARD_PACKS"/*.tgz "$packs/"
else
  echo "--- pack every package (prepack builds dist/)"
  "${pnpm[@]}" --recursive --filter './packages/*' pack --pack-destination "$packs" >"$work/pack.log" 2>&1 ||
    { cat "$work/pack.log"; echo "packing failed"; exit 1; }
fi
tarballs=("$packs"/*.tgz)
expected=$(ls -d packages/*/ | wc -l)
[ "${#tarballs[@]}" -eq "$expected" ] || { echo "expected $expected tarballs, got ${#tarballs[@]}"; exit 1; }

# Every check below runs even when an earlier one failed, so one run shows every problem.
status=0
echo "--- tarball contents"
for t in "${tarballs[@]}"; do node .ci/check-tarball.mjs "$t" || status=1; done

echo "--- publint (warnings are errors)"
lint_failed=0
for t in "${tarballs[@]}"; do
  out=$(NO_COLOR=1 node_modules/.bin/publint run "$t" --strict 2>&1) || lint_failed=1
  echo "$(basename "$t"): $(echo "$out" | grep -v 'Running publint\|Unpacking tarball\|Linting\.\.\.' | tr '\n' ' ')"
done
[ $lint_failed -eq 0 ] || { echo "publint failed"; status=1; }

echo "--- @arethetypeswrong/cli (ESM-only: the CommonJS-from-ESM warning is accepted, see the README)"
attw_failed=0
for t in "${tarballs[@]}"; do
  if out=$(node_modules/.bin/attw "$t" --ignore-rules cjs-resolves-to-esm --format table --no-color --no-emoji 2>&1); then
    verdict=$(echo "$out" | grep -o 'No problems found' || echo 'see above')
    resolutions=$(echo "$out" | grep -o '^│ \(node10\|node16\|bundler\).*' | sed 's/ *│ */ /g; s/^ //; s/ $//' | paste -sd, - | sed 's/,/, /g')
    echo "$(basename "$t"): $verdict — $resolutions"
  else
    attw_failed=1
    echo "$out"
  fi
done
[ $attw_failed -eq 0 ] || { echo "attw failed"; status=1; }

echo "--- install the tarballs into $app with npm"
cp test/consumer/usage.mjs test/consumer/require.cjs test/consumer/every-package.mjs test/consumer/integrations.mjs test/consumer/typed.ts \
  test/consumer/tsconfig.nodenext.json test/consumer/tsconfig.bundler.json "$app/"
node -e '
const fs = require("node:fs");
const path = require("node:path");
const [app, repo, ...tarballs] = process.argv.slice(1);
const deps = {};
for (const t of tarballs) {
  const name = JSON.parse(require("node:child_process").execFileSync("tar", ["-xOzf", t, "package/package.json"])).name;
  deps[name] = `file:${t}`;
}
const version = (p) => JSON.parse(fs.readFileSync(path.join(repo, "node_modules", p, "package.json"), "utf8")).version;
fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({
  name: "switchyard-consumer", private: true, type: "module",
  // undici 7 as a Node 20 user installs it; undici 8 beside it under an alias, for Node ≥ 22.19.
  dependencies: { ...deps, undici: `^${version("undici")}`, undici8: `npm:undici@${version("undici8")}` },
  devDependencies: { typescript: version("typescript"), "@types/node": `^${version("@types/node")}` },
  // The packages depend on each other by version: resolve those to the same tarballs, never to the registry.
  overrides: deps,
}, null, 2));
' "$app" "$repo" "${tarballs[@]}"
(cd "$app" && npm install --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) ||
  { cat "$work/npm.log"; echo "npm install failed"; exit 1; }
echo "installed: $(cd "$app" && ls node_modules/@switchyard | tr '\n' ' ')"

run_on() {
  local bin=$1
  local dir
  dir=$(dirname "$bin")
  echo "=== consumer on Node $("$bin" --version)"
  (
    cd "$app"
    export PATH="$dir:$PATH"
    timeout 120 node usage.mjs
    timeout 60 node require.cjs
    timeout 60 node every-package.mjs
    timeout 60 node integrations.mjs
    rm -rf out
    timeout 300 node node_modules/typescript/bin/tsc -p tsconfig.nodenext.json
    echo "tsc (module/moduleResolution nodenext, skipLibCheck off): no errors"
    timeout 300 node node_modules/typescript/bin/tsc -p tsconfig.bundler.json
    echo "tsc (moduleResolution bundler, skipLibCheck off): no errors"
    timeout 60 node out/typed.js
  )
}

run_on "$(command -v node)" || status=1
for version in 22 24; do
  bin=$(npx -y -p "node@$version" which node 2>/dev/null | tail -n 1)
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "Node $version could not be fetched from the npm registry"
    status=1
    continue
  fi
  run_on "$bin" || status=1
done
[ $status -eq 0 ] && verdict=passed || verdict=FAILED
echo "consumer smoke test: $verdict (${SECONDS} s)"
exit $status
