// ctest driver for the manifests area (label manifests): renders manifests/ with kubectl kustomize
// and checks the renders.
//
//   node manifest_checks.mjs render|schema|schema_negative|policy|policy_negative
//   node manifest_checks.mjs policy_of FILE [--route=nginx|traefik|gateway] [--tls] [--autoscale]
//
// render           every kustomization under manifests/ renders, and each route (minikube,
//                  traefik, gateway) with --tls --autoscale's components
// schema           the renders and the sample Gateway type-check against their schemas (schema.mjs:
//                  unknown fields rejected)
// policy           each render follows the deployment policy (policy.mjs) for what it contains, and
//                  docker-compose.yml gives the service only its settings (README.md's table)
// schema_negative, policy_negative
//                  the renders broken each way of negative.mjs's tables must fail the check
// policy_of        one rendered file against the policy (tests/deploy/runs.bats: what the script applied)
//
// Exit 77 (ctest: skipped) when kubectl or the pinned npm packages are missing (a failure under
// FA_TESTS_NO_SKIP=1).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { POLICY_BREAKS, SCHEMA_BREAKS, rejectsEveryBreak } from "./negative.mjs";
import { checkCompose, checkPolicy } from "./policy.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

function skip(why) {
  if (process.env.FA_TESTS_NO_SKIP === "1") {
    console.error(`${why} (FA_TESTS_NO_SKIP=1 turns this skip into a failure)`);
    process.exit(1);
  }
  console.log(`SKIP: ${why}`);
  process.exit(77);
}
function needKubectl() {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
  } catch {
    skip("kubectl not found (kustomize is built into kubectl)");
  }
}
function needPackages() {
  const { devDependencies } = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
  for (const p of Object.keys(devDependencies))
    if (!existsSync(join(here, "node_modules", p))) skip("pinned npm packages missing: run 'npm ci' in tests/manifests");
}

// Returns [{ file, index, obj }] for every non-empty document of the file. Throws on YAML errors
// (duplicate keys included) so a broken render fails loudly; aliases only where allowed (compose).
async function load(file, { maxAliasCount = 0 } = {}) {
  const { parseAllDocuments } = await import("yaml"); // only once needPackages() passed
  return parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true }).flatMap((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file}: YAML document ${index}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const obj = doc.toJS({ maxAliasCount });
    return obj === null || obj === undefined ? [] : [{ file, index, obj }];
  });
}

// The renders the checks read: what each must contain (the options of the policy) and, for an
// overlay with components (`compose`), how build-and-deploy.sh's generated overlay composes it.
const RENDERS = {
  minikube: { route: "nginx" },
  traefik: { route: "traefik" },
  gateway: { route: "gateway" },
  autoscale: { autoscale: true },
  tls: { tls: true },
  combined: { autoscale: true, tls: true, compose: ["minikube", "tls", "autoscale"] },
  traefik_combined: { route: "traefik", autoscale: true, tls: true, compose: ["traefik", "tls", "autoscale"] },
  gateway_combined: { route: "gateway", autoscale: true, tls: true, compose: ["gateway", "gateway-tls", "autoscale"] },
  // components/metrics-scrape: a second NetworkPolicy admits the scraper's namespace on the metrics port.
  metrics_scrape: { metricsScrape: true, compose: ["minikube", "metrics-scrape"] },
};

// Renders base, every overlay and the composed ones into out/<name>.yaml; returns the paths by name.
function renderAll(out) {
  const kustomize = (dir) => execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  const files = {};
  const write = (name, text) => {
    if (!text.trim()) throw new Error(`${name}: rendered nothing`);
    files[name] = join(out, `${name}.yaml`);
    writeFileSync(files[name], text);
  };
  write("base", kustomize(join(root, "manifests", "base")));
  for (const overlay of readdirSync(join(root, "manifests", "overlays"))) {
    const name = overlay.replaceAll("-", "_");
    if (!RENDERS[name]) throw new Error(`overlay ${overlay} has no entry in RENDERS of ${fileURLToPath(import.meta.url)}: add one so it is checked`);
    write(name, kustomize(join(root, "manifests", "overlays", overlay)));
  }
  for (const [name, { compose }] of Object.entries(RENDERS)) {
    if (!compose) continue;
    const [overlay, ...components] = compose;
    const dir = join(out, name);
    mkdirSync(dir);
    const rel = relative(dir, join(root, "manifests"));
    writeFileSync(join(dir, "kustomization.yaml"), [
      "apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization",
      "resources:", `  - ${rel}/overlays/${overlay}`,
      "components:", ...components.map((c) => `  - ${rel}/components/${c}`), "",
    ].join("\n"));
    write(name, kustomize(dir));
  }
  return files;
}

// Prints the problems found, or that there are none; true when there are none.
function report(problems, what) {
  for (const p of problems) console.error(p);
  if (problems.length === 0) console.log(`OK ${what}`);
  return problems.length === 0;
}

// The type checker's errors for each case (negative.mjs), all in one run: each object is
// labelled with its case, the errors are its case's.
async function schemaOfCases(cases) {
  const { checkSchema } = await import("./schema.mjs");
  const errors = await checkSchema(cases.flatMap((c) => c.objects.map((obj, index) => ({ file: c.label, index, obj }))));
  return cases.map((c) => errors.filter((e) => e.startsWith(`${c.label} document `)).map((e) => e.slice(c.label.length + 1)));
}
const policyOfCase = (c) => (c.render === "compose" ? checkCompose(c.objects[0]) : checkPolicy(c.objects, c.opts));

const policyReport = (name, objects, opts) =>
  report(checkPolicy(objects, opts).map((m) => `POLICY VIOLATION ${m}`), `policy of ${name} (${JSON.stringify(opts)}): ${objects.length} objects`);

// Each check: true when it passes. files: the renders' paths by name, the sample Gateway's, compose's.
const CHECKS = {
  async render(files) {
    for (const [name, file] of Object.entries(files))
      console.log(`rendered ${name}: ${(readFileSync(file, "utf8").match(/^kind: /gm) ?? []).length} objects`);
    return true;
  },
  async schema(files) {
    const { checkSchema, describe } = await import("./schema.mjs");
    const objects = (await Promise.all(Object.values(files).map((f) => load(f)))).flat();
    const errors = await checkSchema(objects);
    return report(errors.map((e) => `SCHEMA ERROR ${e}`), `schema: ${objects.length} object(s): ${objects.map(({ obj }) => describe(obj)).join(", ")}`);
  },
  async policy(files, renders) {
    let ok = true;
    for (const [name, opts] of Object.entries(RENDERS)) ok = policyReport(name, renders[name], opts) && ok;
    return report(checkCompose(renders.compose[0]).map((m) => `POLICY VIOLATION ${m}`), "docker-compose.yml: the service's settings") && ok;
  },
  schema_negative: (files, renders) => rejectsEveryBreak(SCHEMA_BREAKS, renders, RENDERS, schemaOfCases),
  policy_negative: (files, renders) => rejectsEveryBreak(POLICY_BREAKS, renders, RENDERS, (cases) => cases.map(policyOfCase)),
};

async function main([check, ...args]) {
  if (check === "policy_of") {
    needPackages();
    const opts = { autoscale: args.includes("--autoscale"), tls: args.includes("--tls") };
    const route = args.find((a) => a.startsWith("--route="));
    if (route) opts.route = route.slice("--route=".length);
    const file = args.find((a) => !a.startsWith("--"));
    return policyReport(file, (await load(file)).map((x) => x.obj), opts) ? 0 : 1;
  }
  if (!CHECKS[check]) {
    console.error(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(0, 18).join("\n"));
    return 2;
  }
  needKubectl();
  if (check !== "render") needPackages();
  const out = mkdtempSync(join(tmpdir(), "fa-manifests-"));
  try {
    const files = renderAll(out);
    if (check === "render") return (await CHECKS.render(files)) ? 0 : 1;
    const renders = { compose: [(await load(join(root, "docker-compose.yml"), { maxAliasCount: 100 }))[0].obj] };
    files.example_gateway = join(root, "manifests", "examples", "gateway.yaml");
    for (const [name, file] of Object.entries(files)) renders[name] = (await load(file)).map((x) => x.obj);
    return (await CHECKS[check](files, renders)) ? 0 : 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
