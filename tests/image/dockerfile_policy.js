// The image rules that matter, checked on the parsed Dockerfile (dockerfile-ast, pinned in
// package.json): check(dockerfileText, dockerignoreText) -> [{rule, message}]. Run by
// dockerfile_checks.js policy, which applies it to the real files and to one broken variant per rule.
'use strict';
const { DockerfileParser } = require('dockerfile-ast');

const RUNTIME_USER = '65532:65532';
const BINARY = '/favorite-athlete';
const HEALTHCHECK = `${BINARY} --check http://127.0.0.1:8080/healthz`;
const OCI_LABELS = ['source', 'revision', 'version'].map((k) => `org.opencontainers.image.${k}`);
// The builder must run exactly what CI runs on this machine (tests/image/image_checks.sh static_build).
const BUILD_STEPS = [
  { name: 'configure', re: /\bcmake\s+--preset[=\s]+static\b/ },
  { name: 'build', re: /\bcmake\s+--build\s+--preset[=\s]+static\b/ },
  { name: 'unit tests', re: /\bctest\s+--preset[=\s]+static\b.*\s-L[=\s]*unit\b/ },
  { name: 'smoke test', re: /\bsh\s+tests\/image\/smoke\.sh\s+build\/static\/favorite-athlete\b/ },
];
// The only way a build may skip its tests: an ARG SKIP_TESTS (default 0) tested with [ ... = 1 ] ||.
const SKIP_GUARD = /^\[\s+"\$\{?SKIP_TESTS\}?"\s+=\s+1\s+\]\s+\|\|\s+/;

// A shell-form instruction argument that is really a JSON array (exec form)?
function execForm(text) {
  const t = (text || '').trim();
  if (!t.startsWith('[')) return null;
  try {
    const v = JSON.parse(t);
    return Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string') ? v : null;
  } catch (_) {
    return null;
  }
}

function check(text, dockerignore) {
  const out = [];
  const bad = (rule, message) => out.push({ rule, message });
  const df = DockerfileParser.parse(text);

  // Split into stages.
  const stages = [];
  for (const ins of df.getInstructions()) {
    const kw = ins.getKeyword();
    if (kw === 'FROM') stages.push({ from: ins, name: (ins.getBuildStage() || '').toLowerCase(), body: [] });
    else if (stages.length) stages[stages.length - 1].body.push(ins);
    else if (kw !== 'ARG') bad('structure', `${kw} before the first FROM`);
  }
  if (stages.length < 2) {
    bad('multi-stage', `expected a build stage and a runtime stage, found ${stages.length} FROM`);
    if (!stages.length) return out;
  }

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
    else if (tag && !digest && !/\d/.test(tag)) bad('pinned-base', `FROM ${raw}: '${tag}' is a floating tag; pin a release version`);
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

  // Runtime stage.
  const rt = stages[stages.length - 1];
  const kws = (kw) => rt.body.filter((i) => i.getKeyword() === kw);
  if ((rt.from.getImageName() || '').toLowerCase() !== 'scratch') {
    bad('runtime-scratch', `runtime stage is FROM ${rt.from.getImage()}, the design ships FROM scratch`);
  }
  if (kws('RUN').length) bad('no-shell', 'RUN in the runtime stage: nothing that runs the image may need a shell');
  const copies = kws('COPY').filter((c) => {
    const args = c.getArguments().map((a) => a.getValue());
    return c.getFromFlag && c.getFromFlag() && args[args.length - 1] === BINARY;
  });
  if (copies.length !== 1) bad('binary', `runtime stage needs exactly one COPY --from=<build stage> ... ${BINARY}`);

  const users = kws('USER');
  if (!users.length) bad('non-root', 'no USER in the runtime stage: it would run as root');
  else {
    const u = (users[users.length - 1].getArgumentsContent() || '').trim();
    if (u !== RUNTIME_USER) bad('non-root', `runtime USER is '${u}', want numeric ${RUNTIME_USER}`);
  }

  const eps = kws('ENTRYPOINT');
  if (eps.length !== 1) bad('entrypoint', `runtime stage needs exactly one ENTRYPOINT, found ${eps.length}`);
  for (const e of eps) {
    const v = execForm(e.getArgumentsContent());
    if (!v) bad('entrypoint', `ENTRYPOINT ${e.getArgumentsContent()}: not exec form (a JSON array); shell form needs /bin/sh`);
    else if (v.length !== 1 || v[0] !== BINARY) bad('entrypoint', `ENTRYPOINT is ${JSON.stringify(v)}, want ["${BINARY}"]`);
  }
  for (const c of kws('CMD')) {
    if (!execForm(c.getArgumentsContent())) bad('entrypoint', `CMD ${c.getArgumentsContent()}: not exec form`);
  }

  const hcs = kws('HEALTHCHECK');
  if (hcs.length !== 1) bad('healthcheck', `runtime stage needs exactly one HEALTHCHECK, found ${hcs.length}`);
  for (const h of hcs) {
    const content = (h.getArgumentsContent() || '').trim();
    const m = /^CMD\s+([\s\S]*)$/i.exec(content);
    const v = m && execForm(m[1]);
    if (!v) bad('healthcheck', `HEALTHCHECK ${content}: want CMD in exec form (no shell, no curl in the image)`);
    else if (v.join(' ') !== HEALTHCHECK) bad('healthcheck', `HEALTHCHECK runs ${v.join(' ')}, want ${HEALTHCHECK}`);
  }

  const exposed = kws('EXPOSE').flatMap((e) => e.getArguments().map((a) => a.getValue()));
  if (!exposed.some((p) => p === '8080' || p === '8080/tcp')) bad('expose', 'runtime stage does not EXPOSE 8080');

  const labels = new Map(kws('LABEL').flatMap((l) => l.getProperties().map((p) => [p.getName(), p.getValue() || ''])));
  for (const k of OCI_LABELS) {
    if (!labels.has(k)) bad('oci-labels', `missing LABEL ${k}`);
    else if (!labels.get(k).trim()) bad('oci-labels', `empty LABEL ${k}`);
  }

  // Build context: no VCS, no build trees.
  if (dockerignore === null || dockerignore === undefined) bad('dockerignore', 'no .dockerignore next to the Dockerfile');
  else {
    const pats = new Set(dockerignore.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
      .map((l) => l.replace(/^\/+|\/+$/g, '')));
    if (!pats.has('.git')) bad('dockerignore', '.dockerignore does not exclude .git');
    if (!pats.has('build') && !pats.has('build*') && !pats.has('**/build')) bad('dockerignore', '.dockerignore does not exclude build/');
  }
  return out;
}

module.exports = { check };
