#!/usr/bin/env bash
# gitlab-ci-schema.sh: refresh docs/testdata/gitlab-ci.schema.json, GitLab's
# JSON Schema of .gitlab-ci.yml, against which docs/examples_test.go checks
# every GitLab example in docs/ci.md.
#
#   scripts/gitlab-ci-schema.sh [VERSION]      # default 4.75.1
#
# GitLab publishes the schema in its repository (the CI editor's ci.json);
# the npm package gitlab-ci-local (MIT) bundles a copy of it, so it comes
# from the npm registry here: npm pack, then node takes the schema's object
# out of the bundle and writes it as JSON. Needs npm and node; the tests
# need neither (the file is committed).
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-4.75.1}
out=docs/testdata/gitlab-ci.schema.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "gitlab-ci-local@$version" >/dev/null && tar xzf gitlab-ci-local-*.tgz)
node - "$tmp/package/dist/index.js" "$out.tmp" <<'JS'
const fs = require("fs");
const [bundle, out] = process.argv.slice(2);
const src = fs.readFileSync(bundle, "utf8");
const at = src.indexOf('$id:"https://gitlab.com/.gitlab-ci.yml"');
if (at < 0) throw new Error("no GitLab CI schema in " + bundle);
// The object literal around it: from its opening brace to the matching
// closing one, skipping strings.
const start = src.lastIndexOf("{", at);
let depth = 0, quote = null, end = -1;
for (let i = start; i < src.length && end < 0; i++) {
  const c = src[i];
  if (quote) {
    if (c === "\\") i++;
    else if (c === quote) quote = null;
  } else if (c === '"' || c === "'" || c === "`") quote = c;
  else if (c === "{") depth++;
  else if (c === "}" && --depth === 0) end = i;
}
const schema = (0, eval)("(" + src.slice(start, end + 1) + ")");
if (schema.$schema !== "http://json-schema.org/draft-07/schema#" || !schema.definitions || !schema.definitions.job_template)
  throw new Error("not GitLab's CI schema");
fs.writeFileSync(out, JSON.stringify(schema, null, 2) + "\n");
JS
mv "$out.tmp" "$out"
echo "gitlab-ci-schema.sh: $out from gitlab-ci-local@$version"
