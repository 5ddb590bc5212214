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
// schema_negative  each fixtures/schema_*.yaml must FAIL the schema check with its `# expect:` texts
// policy           each render follows the deployment policy (policy.mjs) for what it contains
// policy_negative  broken variants of the renders must each fail the policy (policy_negative.mjs)
// policy_of        one rendered file against the policy (tests/deploy/minikube.bats: what the script applied)
//
// Exit 77 (ctest: skipped) when kubectl or the pinned npm packages are missing (a failure under
// FA_TESTS_NO_SKIP=1).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

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
  for (const p of ["typescript", "kubernetes-types", "yaml", "@kubernetes-models/gateway-api"])
    if (!existsSync(join(here, "node_modules", p))) skip("pinned npm packages missing: run 'npm ci' in tests/manifests");
}
// Imported only once the packages are known to be there (they need `yaml` and `typescript`).
const lib = async () => ({ ...(await import("./schema.mjs")), ...(await import("./policy.mjs")), loadObjects });

// Returns [{ file, index, obj }] for every non-empty document in the files. Throws on YAML errors
// (duplicate keys included) so a broken render fails loudly.
async function loadObjects(files) {
  const { parseAllDocuments } = await import("yaml");
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true }).flatMap((doc, index) => {
      if (doc.errors.length > 0)
        throw new Error(`${file}: YAML document ${index}: ${doc.errors.map((e) => e.message).join("; ")}`);
      const obj = doc.toJS({ maxAliasCount: 0 });
      return obj === null || obj === undefined ? [] : [{ file, index, obj }];
    }));
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

// Each check: true when it passes.
const CHECKS = {
  async render(files) {
    for (const [name, file] of Object.entries(files))
      console.log(`rendered ${name}: ${(readFileSync(file, "utf8").match(/^kind: /gm) ?? []).length} objects`);
    return true;
  },
  async schema(files) {
    const { checkSchema, describe, loadObjects } = await lib();
    const objects = await loadObjects([...Object.values(files), join(root, "manifests", "examples", "gateway.yaml")]);
    const errors = await checkSchema(objects);
    for (const e of errors) console.error(`SCHEMA ERROR ${e}`);
    if (errors.length === 0) console.log(`schema OK: ${objects.length} object(s): ${objects.map(({ obj }) => describe(obj)).join(", ")}`);
    return errors.length === 0;
  },
  async schema_negative() {
    const { checkSchema, loadObjects } = await lib();
    const dir = join(here, "fixtures");
    const fixtures = readdirSync(dir).filter((f) => /^schema_.*\.yaml$/.test(f));
    if (fixtures.length === 0) {
      console.error("no fixtures found");
      return false;
    }
    let ok = true;
    for (const f of fixtures) {
      const expects = [...readFileSync(join(dir, f), "utf8").matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]);
      const errors = await checkSchema(await loadObjects([join(dir, f)]));
      const missing = expects.filter((e) => !errors.some((msg) => msg.includes(e)));
      if (errors.length === 0) console.error(`FAIL ${f}: the schema check accepted it`);
      else if (expects.length === 0) console.error(`FAIL ${f}: no '# expect:' line`);
      else if (missing.length) console.error(`FAIL ${f}: rejected, but without '${missing[0]}':\n  ${errors.join("\n  ")}`);
      else {
        console.log(`ok   ${f} rejected: ${errors[0].split("\n")[0]}`);
        continue;
      }
      ok = false;
    }
    return ok;
  },
  async policy(files) {
    let ok = true;
    for (const [name, opts] of Object.entries(RENDERS)) {
      console.log(`== ${name}`);
      ok = (await policyOf(files[name], opts)) && ok;
    }
    return ok;
  },
  async policy_negative(files) {
    const { loadObjects } = await lib();
    const { policyNegative } = await import("./policy_negative.mjs");
    const renders = {};
    for (const name of ["minikube", "metrics_scrape", "traefik", "gateway_combined"])
      renders[name] = (await loadObjects([files[name]])).map((x) => x.obj);
    return policyNegative(renders);
  },
};

async function policyOf(file, opts) {
  const { checkPolicy, describe, loadObjects } = await lib();
  const objects = (await loadObjects([file])).map((x) => x.obj);
  const violations = checkPolicy(objects, opts);
  for (const msg of violations) console.error(`POLICY VIOLATION ${msg}`);
  if (violations.length === 0) console.log(`policy OK (${JSON.stringify(opts)}): ${objects.map(describe).join(", ")}`);
  return violations.length === 0;
}

async function main([check, ...args]) {
  if (check === "policy_of") {
    needPackages();
    const opts = { autoscale: args.includes("--autoscale"), tls: args.includes("--tls") };
    const route = args.find((a) => a.startsWith("--route="));
    if (route) opts.route = route.slice("--route=".length);
    return (await policyOf(args.find((a) => !a.startsWith("--")), opts)) ? 0 : 1;
  }
  if (!CHECKS[check]) {
    console.error(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(0, 17).join("\n"));
    return 2;
  }
  if (check !== "schema_negative") needKubectl();
  if (check !== "render") needPackages();
  const out = mkdtempSync(join(tmpdir(), "fa-manifests-"));
  try {
    const files = check === "schema_negative" ? {} : renderAll(out);
    return (await CHECKS[check](files)) ? 0 : 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
