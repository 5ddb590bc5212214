#!/usr/bin/env node
// dockerfile_checks.js lint|policy DOCKERFILE DOCKERIGNORE (ctest image.dockerfile_lint and
// image.dockerfile_policy; needs `npm ci --prefix tests`, which .ci/run does). Both show
// that check() below accepts DOCKERFILE + DOCKERIGNORE and reports each row of BROKEN (one rule
// broken) under its rule; a row that no longer changes the text fails too, so the rows keep up
// with the Dockerfile. lint takes the rule `lint` alone: dockerfile-utils (pinned in
// tests/package.json) reports nothing, no error and no warning (so no instruction before FROM, one
// ENTRYPOINT and one HEALTHCHECK per stage), and a broken linter cannot pass; policy takes the
// other rules.
// check() holds the rules that only a reading of the Dockerfile shows. What building and running
// the runtime stage shows is image.podman_scratch's (image_checks.sh): FROM scratch with one COPY
// of the binary, its USER 65532:65532, the exec-form ENTRYPOINT and HEALTHCHECK (exactly, and
// passing), EXPOSE 8080, the OCI labels carrying the build arguments.
'use strict';
const fs = require('fs');

const [mode, dfPath, ignorePath] = process.argv.slice(2);
let utils;
let DockerfileParser;
try {
  utils = require('dockerfile-utils');
  ({ DockerfileParser } = require('dockerfile-ast')); // dockerfile-utils' own parser
} catch (e) {
  // ctest maps 77 to Skipped (a failure under FA_TESTS_NO_SKIP=1: scripts/test.sh).
  console.log(`SKIP: npm packages missing: run 'npm ci --prefix tests' (${e.message})`);
  process.exit(77);
}

// The builder must run exactly what CI runs on this machine (tests/image/image_checks.sh static_build).
// Configure names the commit (--version) from the build argument REVISION (.dockerignore keeps .git out).
const BUILD_STEPS = [
  { name: 'configure', re: /\bcmake\s+--preset[=\s]+static\b.*-DFAVORITE_ATHLETE_COMMIT="\$\{REVISION\}"/ },
  { name: 'build', re: /\bcmake\s+--build\s+--preset[=\s]+static\b/ },
  { name: 'dynamic binary refusal', re: /^! readelf -lW build\/static\/favorite-athlete \| grep -q 'program interpreter'/ },
  { name: 'unit tests', re: /\bctest\s+--preset[=\s]+static\b.*\s-L[=\s]*unit\b/ },
  { name: 'smoke test', re: /\bsh\s+tests\/image\/smoke\.sh\s+build\/static\/favorite-athlete\b/ },
];
// What the runtime stage ships, from a build stage: the binary the steps above built and tested (WORKDIR /src).
const SHIPPED = '/src/build/static/favorite-athlete /favorite-athlete';
// What the build context leaves out (.dockerignore): VCS, build trees, fetched dependencies.
const IGNORED = ['.git', '**/build', '.deps', '**/node_modules'];
// The only way a build may skip its tests: an ARG SKIP_TESTS (default 0) tested with [ ... = 1 ] ||.
const SKIP_GUARD = /^\[\s+"\$\{?SKIP_TESTS\}?"\s+=\s+1\s+\]\s+\|\|\s+/;

// check(dockerfileText, dockerignoreText) -> [{rule, message}]
function check(text, dockerignore) {
  const out = [];
  const bad = (rule, message) => out.push({ rule, message });
  for (const d of utils.validate(text)) bad('lint', `dockerfile-utils: line ${d.range.start.line + 1}: ${d.message}`);
  const stages = []; // {from, name, body}: each FROM and the instructions after it
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    if (ins.getKeyword() === 'FROM') stages.push({ from: ins, name: (ins.getBuildStage() || '').toLowerCase(), body: [] });
    else if (stages.length) stages[stages.length - 1].body.push(ins);
  }
  if (!stages.length) return [{ rule: 'stages', message: 'no FROM' }];

  // Every base image pinned: scratch, an earlier stage, or name:tag with a version (never latest).
  stages.forEach((st, i) => {
    const raw = st.from.getImage() || '';
    const name = (st.from.getImageName() || '').toLowerCase();
    const tag = st.from.getImageTag();
    const digest = st.from.getImageDigest();
    const earlier = stages.slice(0, i).map((s) => s.name).filter(Boolean);
    if (raw.includes('$')) bad('pinned-base', `FROM ${raw}: a variable base image cannot be checked; write the pinned reference`);
    else if (name === 'scratch' || earlier.includes(raw.toLowerCase())) return;
    else if (!tag && !digest) bad('pinned-base', `FROM ${raw}: untagged base image (means :latest)`);
    else if (tag && tag.toLowerCase() === 'latest') bad('pinned-base', `FROM ${raw}: 'latest' is not a pin`);
    else if (tag && !digest && !/^v?\d+\.\d+\.\d+/.test(tag)) bad('pinned-base', `FROM ${raw}: '${tag}' is a floating tag; pin an exact release (x.y.z)`);
  });

  // The build runs the project's preset and its unit tests; a failing test must fail the build.
  const buildRuns = stages.slice(0, -1).flatMap((st) => st.body.filter((i) => i.getKeyword() === 'RUN'));
  for (const step of BUILD_STEPS) {
    const runs = buildRuns.filter((r) => step.re.test(r.getArgumentsContent() || ''));
    if (!runs.length) bad('tests-in-build', `no RUN in a build stage does the ${step.name} step (${step.re})`);
    for (const r of runs) {
      const cmd = r.getArgumentsContent() || '';
      if (/\|\|\s*(true|:|exit\s+0)\b|;\s*(true|:|exit\s+0)\s*$|\|\|\s*:\s*$/.test(cmd)) {
        bad('tests-in-build', `the ${step.name} step ignores failures: RUN ${cmd}`);
      }
      if (/SKIP_TESTS/.test(cmd) && !SKIP_GUARD.test(cmd.trim())) {
        bad('tests-in-build', `the ${step.name} step tests SKIP_TESTS other than as [ "$SKIP_TESTS" = 1 ] || ...: RUN ${cmd}`);
      }
    }
  }
  const skipArgs = stages.flatMap((st) => st.body.filter((i) => i.getKeyword() === 'ARG'))
    .map((a) => (a.getArgumentsContent() || '').trim()).filter((a) => /^SKIP_TESTS\b/.test(a));
  for (const a of skipArgs) {
    if (a !== 'SKIP_TESTS=0') bad('tests-in-build', `ARG ${a}: the tests must run by default (ARG SKIP_TESTS=0)`);
  }

  // Runtime stage (the last).
  const kws = (kw) => stages[stages.length - 1].body.filter((i) => i.getKeyword() === kw);
  if (kws('RUN').length) bad('no-shell', 'RUN in the runtime stage: nothing that runs the image may need a shell');
  const copies = kws('COPY').map((c) => `${c.getFromFlag() ? '' : '(not --from) '}${(c.getArgumentsContent() || '').trim()}`);
  if (copies.join('; ') !== SHIPPED) bad('ships-tested', `runtime stage COPY ${copies.join('; ')}: want only COPY --from=<build stage> ${SHIPPED}, the tested binary`);

  // Build context: no VCS, no build trees.
  if (dockerignore === null) bad('dockerignore', 'no .dockerignore next to the Dockerfile');
  else {
    const pats = dockerignore.split('\n').map((l) => l.trim());
    for (const p of IGNORED) if (!pats.includes(p)) bad('dockerignore', `.dockerignore does not exclude ${p}`);
  }
  return out;
}

// [rule, what, Dockerfile edit, .dockerignore edit]: each must be reported under its rule.
const line = (re) => (s) => s.replace(re, '');
const from = (to) => (s) => s.replace(/^FROM alpine:\S+/m, to);
const BROKEN = [
  ['lint', 'a second ENTRYPOINT (a warning)', (s) => `${s}ENTRYPOINT ["/x"]\n`],
  ['lint', 'an unknown instruction (an error)', (s) => `${s}ENTRYPIONT ["/y"]\n`],
  ['pinned-base', 'base image :latest', from('FROM alpine:latest')],
  ['pinned-base', 'untagged base image', from('FROM alpine')],
  ['pinned-base', 'floating tag (the line, not a release)', from('FROM alpine:3.24')],
  ['pinned-base', 'variable base image', from('FROM alpine:${ALPINE}')],
  ['tests-in-build', 'unit tests not run', line(/^RUN [^\n]*\bctest\b[^\n]*\n/m)],
  ['tests-in-build', 'unit test failures ignored', (s) => s.replace(/^(RUN [^\n]*\bctest\b[^\n]*)$/m, '$1 || true')],
  ['tests-in-build', 'smoke test not run', line(/^RUN [^\n]*smoke\.sh[^\n]*\n/m)],
  ['tests-in-build', 'smoke test failures ignored', (s) => s.replace(/^(RUN [^\n]*smoke\.sh[^\n]*)$/m, '$1; true')],
  ['tests-in-build', 'tests skipped by default', (s) => s.replace(/^ARG SKIP_TESTS=0$/m, 'ARG SKIP_TESTS=1')],
  ['tests-in-build', 'skip guard inverted', (s) => s.replace(/\[ "\$SKIP_TESTS" = 1 \] \|\| sh tests/, '[ "$SKIP_TESTS" != 1 ] || sh tests')],
  ['tests-in-build', 'not the static preset', (s) => s.replace(/cmake --preset static/, 'cmake --preset release')],
  ['tests-in-build', 'the commit not passed on', (s) => s.replace(/ -DFAVORITE_ATHLETE_COMMIT="\$\{REVISION\}"/, '')],
  ['tests-in-build', 'a dynamic binary not refused', line(/^RUN ! readelf[^\n]*\\\n[^\n]*\n/m)],
  ['tests-in-build', 'single stage', line(/^FROM scratch AS runtime\n/m)],
  ['ships-tested', 'another binary shipped', (s) => s.replace(/\/src\/build\/static\/favorite-athlete /, '/src/build/release/favorite-athlete ')],
  ['no-shell', 'RUN in the runtime stage', (s) => s.replace(/^(USER .*)$/m, 'RUN ["/favorite-athlete", "--version"]\n$1')],
  ...IGNORED.map((p) => ['dockerignore', `.dockerignore without ${p}`, null, (s) => s.split('\n').filter((l) => l !== p).join('\n')]),
  ['dockerignore', 'no .dockerignore', null, () => null],
];

// run(DOCKERFILE_TEXT, DOCKERIGNORE_TEXT): the checks of the rules of the mode (lint: `lint`; policy: the others).
function run(df, ignore) {
  const mine = (rule) => (rule === 'lint') === (mode === 'lint');
  const broken = BROKEN.filter(([rule]) => mine(rule));
  let failed = 0;
  const report = (ok, message) => {
    if (!ok) failed++;
    console.log(`${ok ? 'ok' : 'FAIL'}: ${message}`);
  };
  console.log(`${mode}, with dockerfile-utils ${require('dockerfile-utils/package.json').version}`);
  for (const v of check(df, ignore).filter((v) => mine(v.rule))) report(false, `the real ${dfPath} violates [${v.rule}] ${v.message}`);
  for (const [rule, what, editDf, editIgnore] of broken) {
    const text = editDf ? editDf(df) : df;
    const ign = editIgnore ? editIgnore(ignore) : ignore;
    if (text === df && ign === ignore) {
      report(false, `'${what}' no longer changes ${dfPath} or .dockerignore; update dockerfile_checks.js`);
      continue;
    }
    const got = check(text, ign).find((v) => v.rule === rule);
    report(Boolean(got), got ? `${what} -> [${rule}] ${got.message}` : `${what} not reported as [${rule}]`);
  }
  console.log(failed ? `${failed} failure(s)` : `${mode}: real files pass, ${broken.length} broken variants all rejected`);
  return failed ? 1 : 0;
}

if (mode !== 'lint' && mode !== 'policy') {
  console.log('usage: dockerfile_checks.js lint|policy DOCKERFILE DOCKERIGNORE');
  process.exit(2);
}
process.exit(run(fs.readFileSync(dfPath, 'utf8'), fs.readFileSync(ignorePath, 'utf8')));
