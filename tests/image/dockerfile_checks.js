#!/usr/bin/env node
// dockerfile_checks.js lint|policy DOCKERFILE DOCKERIGNORE (ctest image.dockerfile_lint and
// image.dockerfile_policy; needs `npm ci --prefix tests/image`, which .ci/run does).
//   lint:   dockerfile-utils (pinned in package.json) reports nothing, no error and no warning, on
//           DOCKERFILE, and does report a known-bad variant (so a broken linter cannot pass).
//   policy: dockerfile_policy.js accepts DOCKERFILE + DOCKERIGNORE, and each mutation below (one
//           broken rule each) is reported under the expected rule. A mutation that no longer
//           changes the text fails too, so the cases keep up with the Dockerfile.
'use strict';
const fs = require('fs');

const [mode, dfPath, ignorePath] = process.argv.slice(2);
let utils;
let check;
try {
  utils = require('dockerfile-utils');
  ({ check } = require('./dockerfile_policy.js'));
} catch (e) {
  // ctest maps 77 to Skipped; FA_TESTS_NO_SKIP=1 (CI) makes a missing tool a failure (tests/lib.sh skip).
  console.log(`SKIP: npm packages missing: run 'npm ci --prefix tests/image' (${e.message})`);
  process.exit(process.env.FA_TESTS_NO_SKIP === '1' ? 1 : 77);
}
const df = fs.readFileSync(dfPath, 'utf8');
const ignore = fs.readFileSync(ignorePath, 'utf8');

function lint() {
  console.log(`dockerfile-utils ${require('dockerfile-utils/package.json').version}`);
  const found = utils.validate(df);
  if (found.length) {
    console.log(`FAIL: dockerfile-utils reports problems in ${dfPath}: ${JSON.stringify(found)}`);
    return 1;
  }
  console.log(`ok: dockerfile-utils lint: no errors, no warnings in ${dfPath}`);
  // Known-bad variant: a second ENTRYPOINT (warning) and an unknown instruction (error).
  const bad = utils.validate(`${df}ENTRYPOINT ["/x"]\nENTRYPIONT ["/y"]\n`).map((d) => d.message).join('; ');
  if (!bad.includes('ENTRYPOINT') || !bad.includes('ENTRYPIONT')) {
    console.log(`FAIL: the linter did not flag the known-bad variant: ${bad}`);
    return 1;
  }
  console.log(`ok: dockerfile-utils flags a known-bad variant: ${bad}`);
  return 0;
}

const line = (re) => (s) => s.replace(re, '');
const cases = [
  ['pinned-base', 'base image :latest', (s) => s.replace(/^FROM alpine:\S+/m, 'FROM alpine:latest')],
  ['pinned-base', 'untagged base image', (s) => s.replace(/^FROM alpine:\S+/m, 'FROM alpine')],
  ['pinned-base', 'floating tag', (s) => s.replace(/^FROM alpine:\S+/m, 'FROM alpine:edge')],
  ['pinned-base', 'variable base image', (s) => s.replace(/^FROM alpine:\S+/m, 'FROM alpine:${ALPINE}')],
  ['tests-in-build', 'unit tests not run', line(/^RUN [^\n]*\bctest\b[^\n]*\n/m)],
  ['tests-in-build', 'unit test failures ignored', (s) => s.replace(/^(RUN [^\n]*\bctest\b[^\n]*)$/m, '$1 || true')],
  ['tests-in-build', 'smoke test not run', line(/^RUN [^\n]*smoke\.sh[^\n]*\n/m)],
  ['tests-in-build', 'smoke test failures ignored', (s) => s.replace(/^(RUN [^\n]*smoke\.sh[^\n]*)$/m, '$1; true')],
  ['tests-in-build', 'tests skipped by default', (s) => s.replace(/^ARG SKIP_TESTS=0$/m, 'ARG SKIP_TESTS=1')],
  ['tests-in-build', 'skip guard inverted', (s) => s.replace(/\[ "\$SKIP_TESTS" = 1 \] \|\| sh tests/, '[ "$SKIP_TESTS" != 1 ] || sh tests')],
  ['tests-in-build', 'not the static preset', (s) => s.replace(/cmake --preset static/, 'cmake --preset release')],
  ['non-root', 'USER root', (s) => s.replace(/^USER .*$/m, 'USER root')],
  ['non-root', 'no USER', line(/^USER [^\n]*\n/m)],
  ['non-root', 'root group', (s) => s.replace(/^USER .*$/m, 'USER 65532:0')],
  ['entrypoint', 'shell-form ENTRYPOINT', (s) => s.replace(/^ENTRYPOINT .*$/m, 'ENTRYPOINT /favorite-athlete')],
  ['entrypoint', 'no ENTRYPOINT', line(/^ENTRYPOINT [^\n]*\n/m)],
  ['entrypoint', 'ENTRYPOINT with arguments', (s) => s.replace(/^ENTRYPOINT .*$/m, 'ENTRYPOINT ["/favorite-athlete", "--version"]')],
  ['healthcheck', 'shell-form HEALTHCHECK', (s) => s.replace(/CMD \["\/favorite-athlete",[^\n]*\]/, 'CMD curl -f http://127.0.0.1:8080/healthz')],
  ['healthcheck', 'HEALTHCHECK of another URL', (s) => s.replace(/"http:\/\/127\.0\.0\.1:8080\/healthz"\]/, '"http://127.0.0.1:8080/"]')],
  ['healthcheck', 'no HEALTHCHECK', (s) => s.replace(/^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, '')],
  ['oci-labels', 'revision label missing', (s) => s.replace(/org\.opencontainers\.image\.revision=/, 'org.example.revision=')],
  ['expose', 'no EXPOSE 8080', (s) => s.replace(/^EXPOSE 8080$/m, 'EXPOSE 9090')],
  ['no-shell', 'RUN in the runtime stage', (s) => s.replace(/^(USER .*)$/m, 'RUN ["/favorite-athlete", "--version"]\n$1')],
  ['runtime-scratch', 'runtime FROM alpine', (s) => s.replace(/^FROM scratch/m, 'FROM alpine:3.22.1')],
  ['multi-stage', 'single stage', (s) => s.replace(/^FROM scratch AS runtime\n/m, '')],
];

function policy() {
  let failed = 0;
  const real = check(df, ignore);
  if (real.length) {
    failed++;
    console.log(`FAIL: the real ${dfPath} violates the policy:`);
    for (const v of real) console.log(`  [${v.rule}] ${v.message}`);
}
  const run = (rule, what, text, ign) => {
    const got = check(text, ign);
    if (got.some((v) => v.rule === rule)) console.log(`ok: ${what} -> [${rule}] ${got.find((v) => v.rule === rule).message}`);
    else {
      failed++;
      console.log(`FAIL: ${what} not reported as [${rule}]; got ${JSON.stringify(got)}`);
    }
  };
  for (const [rule, what, mutate] of cases) {
    const text = mutate(df);
    if (text === df) {
      failed++;
      console.log(`FAIL: mutation '${what}' no longer changes ${dfPath}; update dockerfile_checks.js`);
      continue;
    }
    run(rule, what, text, ignore);
}
  const ignNoGit = ignore.replace(/^\.git$/m, '');
  if (ignNoGit === ignore) {
    failed++;
    console.log('FAIL: .dockerignore mutation no longer applies');
  } else run('dockerignore', '.dockerignore without .git', df, ignNoGit);
  run('dockerignore', 'no .dockerignore', df, null);

  console.log(failed ? `${failed} failure(s)` : `policy self-test: real files pass, ${cases.length + 2} broken variants all rejected`);
  return failed ? 1 : 0;
}

if (mode !== 'lint' && mode !== 'policy') {
  console.log('usage: dockerfile_checks.js lint|policy DOCKERFILE DOCKERIGNORE');
  process.exit(2);
}
process.exit(mode === 'lint' ? lint() : policy());
